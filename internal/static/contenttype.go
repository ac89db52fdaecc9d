package static

// contentTypes is the table mime.TypeByExtension would have consulted —
// written out here because the mime package brings in far more than we need
// and, on first use, reads the machine's mime.types files, so the answer
// would depend on where the server runs. Text types say charset=utf-8:
// without it a browser guesses.
var contentTypes = map[string]string{
	"html":  "text/html; charset=utf-8",
	"htm":   "text/html; charset=utf-8",
	"css":   "text/css; charset=utf-8",
	"js":    "text/javascript; charset=utf-8", // RFC 9239
	"mjs":   "text/javascript; charset=utf-8",
	"json":  "application/json", // always UTF-8 (RFC 8259); no charset parameter is defined
	"map":   "application/json", // source maps
	"txt":   "text/plain; charset=utf-8",
	"md":    "text/markdown; charset=utf-8",
	"xml":   "text/xml; charset=utf-8",
	"csv":   "text/csv; charset=utf-8",
	"svg":   "image/svg+xml",
	"png":   "image/png",
	"jpg":   "image/jpeg",
	"jpeg":  "image/jpeg",
	"gif":   "image/gif",
	"webp":  "image/webp",
	"ico":   "image/x-icon",
	"avif":  "image/avif",
	"wasm":  "application/wasm", // WebAssembly.instantiateStreaming insists on it
	"pdf":   "application/pdf",
	"woff":  "font/woff",
	"woff2": "font/woff2",
	"ttf":   "font/ttf",
	"otf":   "font/otf",
	"mp4":   "video/mp4",
	"webm":  "video/webm",
	"mp3":   "audio/mpeg",
	"ogg":   "audio/ogg",
	"wav":   "audio/wav",
	"zip":   "application/zip",
	"gz":    "application/gzip",
	"tar":   "application/x-tar",
}

// defaultType is for everything else: a browser will offer to save it
// rather than guess at it.
const defaultType = "application/octet-stream"

// maxExt is the longest extension in contentTypes.
const maxExt = 5

// ContentType picks a type by the extension of name's last segment,
// ignoring case ("INDEX.HTML" is HTML). "a.tar.gz" is application/gzip: it
// is served as the bytes it is, not decompressed.
func ContentType(name string) string {
	dot := -1
	for i := len(name) - 1; i >= 0 && name[i] != '/'; i-- {
		if name[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 || len(name)-dot-1 > maxExt {
		return defaultType
	}
	var buf [maxExt]byte
	ext := buf[:0]
	for i := dot + 1; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ext = append(ext, c)
	}
	if t, ok := contentTypes[string(ext)]; ok {
		return t
	}
	return defaultType
}
