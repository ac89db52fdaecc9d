package page

import (
	"bytes"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/rawserve/rawserve"
)

// Doc answers a request for /docs/… in demo mode: a page of docs/, drawn
// from its Markdown as plain HTML, or a diagram. The demo page links here,
// so that its "More" links work where there is no network. ok is false
// when there is no such document.
func Doc(p string) (body []byte, contentType string, ok bool) {
	name, found := strings.CutPrefix(p, "/docs/")
	if !found {
		return nil, "", false
	}
	docsOnce.Do(loadDocs)
	d, ok := docs[name]
	return d.body, d.contentType, ok
}

type doc struct {
	body        []byte
	contentType string
}

var (
	docsOnce sync.Once
	docs     map[string]doc // by path below docs/: "walkthrough.md", "diagrams/epoll.svg"; "" is the index
)

// loadDocs renders every document once, at the first request for one: a
// few hundred kilobytes, kept for the life of the process.
func loadDocs() {
	docs = map[string]doc{}
	var index []byte
	index = append(index, docHead("rawserve: docs")...)
	index = append(index, "<h1>docs</h1>\n<ul>\n"...)
	fs.WalkDir(rawserve.Docs, "docs", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := rawserve.Docs.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "docs/")
		switch path.Ext(name) {
		case ".md":
			docs[name] = doc{renderMarkdown(name, b), "text/html; charset=utf-8"}
			index = append(index, `<li><a href="/docs/`+name+`">`+name+"</a></li>\n"...)
		case ".svg":
			docs[name] = doc{b, "image/svg+xml"}
		}
		return nil
	})
	index = append(index, "</ul>\n</body>\n</html>\n"...)
	docs[""] = doc{index, "text/html; charset=utf-8"}
}

func docHead(title string) string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + string(AppendEscaped(nil, title)) + `</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
code, pre { font: 14px/1.4 ui-monospace, monospace; }
pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
td, th { border: 1px solid #ccc; padding: .2rem .5rem; vertical-align: top; }
img { max-width: 100%; }
</style>
</head>
<body>
<p><small><a href="/">the demo page</a> · <a href="/docs/">docs</a></small></p>
`
}

// renderMarkdown draws the Markdown these docs use — headings (with the
// ids GitHub gives them, so links to sections work), paragraphs, lists,
// fenced code, tables, images, links, `code`, **strong** and *emphasis* —
// as plain HTML. It is no general Markdown renderer: it needs to draw
// these files only, and TestDocsRender checks each of them.
func renderMarkdown(name string, src []byte) []byte {
	var out bytes.Buffer
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	title := strings.TrimPrefix(lines[0], "# ")
	out.WriteString(docHead(title))
	var para []string
	list := ""
	flush := func() {
		if len(para) > 0 {
			out.WriteString("<p>" + inline(name, strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	endList := func() {
		if list != "" {
			out.WriteString("</li></" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		trimmed := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flush()
			endList()
			out.WriteString("<pre><code>")
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				out.WriteString(escape(lines[i]))
				out.WriteByte('\n')
			}
			out.WriteString("</code></pre>\n")
		case trimmed == "":
			flush()
			endList()
		case strings.HasPrefix(trimmed, "<!--"):
			for !strings.Contains(lines[i], "-->") && i+1 < len(lines) {
				i++ // a comment: the markers TestDocsTranscripts and the README's tests read
			}
		case heading(l) > 0:
			flush()
			endList()
			level := heading(l)
			text := l[level+1:]
			n := string(rune('0' + level))
			out.WriteString("<h" + n + ` id="` + slug(text) + `">` + inline(name, text) + "</h" + n + ">\n")
		case strings.HasPrefix(trimmed, "|"):
			flush()
			endList()
			out.WriteString("<table>\n")
			for row := 0; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i, row = i+1, row+1 {
				if row == 1 {
					continue // the |---|---| line
				}
				cell := "td"
				if row == 0 {
					cell = "th"
				}
				out.WriteString("<tr>")
				for _, c := range splitRow(strings.TrimSpace(lines[i])) {
					out.WriteString("<" + cell + ">" + inline(name, c) + "</" + cell + ">")
				}
				out.WriteString("</tr>\n")
			}
			i--
			out.WriteString("</table>\n")
		case listItem(l) != "":
			flush()
			kind, text := listItem(l), l[strings.IndexByte(l, ' ')+1:]
			if list != kind {
				endList()
				out.WriteString("<" + kind + "><li>")
				list = kind
			} else {
				out.WriteString("</li><li>")
			}
			out.WriteString(inline(name, text))
		case list != "":
			out.WriteString(" " + inline(name, trimmed)) // a list item's next line
		default:
			para = append(para, trimmed)
		}
	}
	flush()
	endList()
	out.WriteString("</body>\n</html>\n")
	return out.Bytes()
}

// heading is a heading line's level (the number of #s before its space),
// or 0.
func heading(l string) int {
	n := 0
	for n < len(l) && n < 6 && l[n] == '#' {
		n++
	}
	if n == 0 || n >= len(l) || l[n] != ' ' {
		return 0
	}
	return n
}

// listItem is "ul" for a line that begins a bullet item ("- ", "* "),
// "ol" for a numbered one ("1. "), else "" (an indented line continues the
// item before it).
func listItem(l string) string {
	switch {
	case strings.HasPrefix(l, "- "), strings.HasPrefix(l, "* "):
		return "ul"
	}
	n := 0
	for n < len(l) && l[n] >= '0' && l[n] <= '9' {
		n++
	}
	if n > 0 && strings.HasPrefix(l[n:], ". ") {
		return "ol"
	}
	return ""
}

// splitRow cuts a table row into its cells; \| is a pipe inside a cell.
func splitRow(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cell.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// inline draws one block's text: `code` (nothing inside it is markup),
// images, links, **strong** and *emphasis*; the rest HTML-escaped.
func inline(doc, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		if rest[0] == '`' {
			if j := strings.IndexByte(rest[1:], '`'); j >= 0 {
				b.WriteString("<code>" + escape(rest[1:1+j]) + "</code>")
				i += j + 2
				continue
			}
		}
		if strings.HasPrefix(rest, "![") {
			if text, target, n := bracketed(rest[1:]); n > 0 {
				if href, ok := docLink(doc, target); ok {
					b.WriteString(`<img src="` + escape(href) + `" alt="` + escape(text) + `">`)
				} else {
					b.WriteString("[" + escape(text) + "]")
				}
				i += 1 + n
				continue
			}
		}
		if rest[0] == '[' {
			if text, target, n := bracketed(rest); n > 0 {
				if href, ok := docLink(doc, target); ok {
					b.WriteString(`<a href="` + escape(href) + `">` + inline(doc, text) + "</a>")
				} else {
					b.WriteString(inline(doc, text)) // a file outside docs/: its name is in the text
				}
				i += n
				continue
			}
		}
		if strings.HasPrefix(rest, "**") {
			if j := strings.Index(rest[2:], "**"); j > 0 {
				b.WriteString("<strong>" + inline(doc, rest[2:2+j]) + "</strong>")
				i += j + 4
				continue
			}
		}
		if rest[0] == '*' && (i == 0 || s[i-1] == ' ' || s[i-1] == '(') && len(rest) > 1 && rest[1] != ' ' {
			if j := strings.IndexByte(rest[1:], '*'); j > 0 {
				b.WriteString("<em>" + inline(doc, rest[1:1+j]) + "</em>")
				i += j + 2
				continue
			}
		}
		b.WriteString(escape(rest[:1]))
		i++
	}
	return b.String()
}

// bracketed reads "[text](target)" at the start of s, and returns its
// parts and its length; n is 0 when s does not start with one.
func bracketed(s string) (text, target string, n int) {
	close := strings.Index(s, "](")
	if !strings.HasPrefix(s, "[") || close < 0 || strings.IndexByte(s[1:close], ']') >= 0 {
		return "", "", 0 // no link, or a ] before the one that ends the text
	}
	end := strings.IndexByte(s[close+2:], ')')
	if end < 0 || strings.ContainsAny(s[close+2:close+2+end], " \t") {
		return "", "", 0
	}
	return s[1:close], s[close+2 : close+2+end], close + 3 + end
}

func escape(s string) string { return string(AppendEscaped(nil, s)) }

// docLink turns a link of a doc into one this server answers: another doc
// or a section of one, a diagram, or a web address. Anything else — a
// file of the repository outside docs/ — has no address here.
func docLink(doc, target string) (string, bool) {
	if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "http://") {
		return target, true
	}
	if strings.HasPrefix(target, "#") {
		return target, true
	}
	file, frag, _ := strings.Cut(target, "#")
	p := path.Clean(path.Join(path.Dir(doc), file))
	if strings.HasPrefix(p, "../") || p == ".." {
		return "", false
	}
	if _, err := fs.Stat(rawserve.Docs, "docs/"+p); err != nil {
		return "", false
	}
	if frag != "" {
		p += "#" + frag
	}
	return "/docs/" + p, true
}

// slug is the id GitHub gives a heading: lower case, spaces as hyphens,
// and only letters, digits, hyphens and underscores kept. These docs'
// headings are English: ASCII letters; the rest of what they hold beyond
// ASCII is punctuation (“ ” — …), which GitHub drops too.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z':
			b.WriteRune(r)
		}
	}
	return b.String()
}
