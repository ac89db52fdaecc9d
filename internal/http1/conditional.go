package http1

import (
	"bytes"
	"strconv"
	"time"
)

// This file holds validators (RFC 9110 §8.8), conditional requests (§13) and
// range requests (§14). Like the parser, it reads straight from the request's
// buffer and allocates nothing.

// ParseHTTPDate parses an HTTP-date in any of the three formats a recipient
// MUST accept (RFC 9110 §5.6.7), and returns it in UTC:
//
//	IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT
//	rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT
//	asctime-date  Sun Nov  6 08:49:37 1994
//
// HTTP-date is case-sensitive and has no room for extra whitespace, so
// neither is allowed. The day name must be a real one but is otherwise
// ignored: it is redundant, a mismatch is the sender's slip, and the date it
// sits beside is unambiguous (net/http does the same). A day that its month
// does not have, such as 31 Apr, is refused rather than rolled over into the
// next month. Second 60 is accepted, since the grammar allows a leap second,
// and is read as the first second of the next minute.
func ParseHTTPDate(b []byte) (time.Time, bool) {
	return parseHTTPDate(b, time.Now())
}

// parseHTTPDate takes the current time as an argument because an rfc850-date
// is read relative to it, and tests need to fix it.
func parseHTTPDate(b []byte, now time.Time) (time.Time, bool) {
	switch {
	case len(b) == len("Sun, 06 Nov 1994 08:49:37 GMT") && b[3] == ',':
		return parseIMFFixdate(b)
	case len(b) == len("Sun Nov  6 08:49:37 1994"):
		return parseAsctime(b)
	default:
		return parseRFC850(b, now)
	}
}

// parseIMFFixdate: day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day
// SP "GMT".
func parseIMFFixdate(b []byte) (time.Time, bool) {
	if !isDayName(b[:3]) || b[4] != ' ' || b[7] != ' ' || b[11] != ' ' || b[16] != ' ' ||
		string(b[25:]) != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digitsAt(b, 5, 2)
	month, ok2 := monthAt(b, 8)
	year, ok3 := digitsAt(b, 12, 4)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeDate(year, month, day, b[17:25], nil)
}

// parseAsctime: day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP
// time-of-day SP 4DIGIT, as C's asctime() writes it.
func parseAsctime(b []byte) (time.Time, bool) {
	if !isDayName(b[:3]) || b[3] != ' ' || b[7] != ' ' || b[10] != ' ' || b[19] != ' ' {
		return time.Time{}, false
	}
	month, ok1 := monthAt(b, 4)
	year, ok2 := digitsAt(b, 20, 4)
	day, ok3 := digitsAt(b, 8, 2)
	if b[8] == ' ' { // a one-digit day is padded with a space, not a zero
		day, ok3 = digitsAt(b, 9, 1)
	}
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeDate(year, month, day, b[11:19], nil)
}

// parseRFC850: day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day
// SP "GMT", the obsolete format of RFC 850.
func parseRFC850(b []byte, now time.Time) (time.Time, bool) {
	comma := bytes.IndexByte(b, ',')
	if comma < 0 || !isLongDayName(b[:comma]) {
		return time.Time{}, false
	}
	b = b[comma+1:]
	if len(b) != len(" 06-Nov-94 08:49:37 GMT") || b[0] != ' ' || b[3] != '-' || b[7] != '-' ||
		b[10] != ' ' || string(b[19:]) != " GMT" {
		return time.Time{}, false
	}
	day, ok1 := digitsAt(b, 1, 2)
	month, ok2 := monthAt(b, 4)
	yy, ok3 := digitsAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeDate(yy, month, day, b[11:19], &now)
}

// makeDate checks the fields of a date and time-of-day = hour ":" minute ":"
// second (RFC 9110 §5.6.7), then builds the time. A non-nil now means year is
// two digits, to be given a century.
func makeDate(year int, month time.Month, day int, clock []byte, now *time.Time) (time.Time, bool) {
	if clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := digitsAt(clock, 0, 2)
	minute, ok2 := digitsAt(clock, 3, 2)
	second, ok3 := digitsAt(clock, 6, 2)
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || second > 60 ||
		day < 1 || day > 31 {
		return time.Time{}, false
	}
	if now != nil {
		year = fullYear(year, time.Date(year, month, day, hour, minute, second, 0, time.UTC), *now)
	}
	if day > daysIn(month, year) {
		return time.Time{}, false
	}
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC), true
}

// fullYear gives the two-digit year yy of date t its century. RFC 9110
// §5.6.7: a recipient MUST read a timestamp that appears to be more than 50
// years in the future as the most recent past year with the same last two
// digits. So the answer is the latest year ending in yy that puts t not more
// than 50 years after now. t is only compared, so it does not matter that
// time.Date rolled a 29 February over in a common year.
func fullYear(yy int, t, now time.Time) int {
	latest := now.Year() + 51 // no year ending in yy after this one can do
	year := latest - ((latest-yy)%100+100)%100
	if t.AddDate(year-t.Year(), 0, 0).After(now.AddDate(50, 0, 0)) {
		year -= 100
	}
	return year
}

// digitsAt parses the n digits at b[i:], which the callers know are there.
func digitsAt(b []byte, i, n int) (int, bool) {
	v := 0
	for _, c := range b[i : i+n] {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// monthAt reads the three-letter month name at b[i:], case-sensitively.
func monthAt(b []byte, i int) (time.Month, bool) {
	for m, name := range monthNames {
		if string(b[i:i+3]) == name {
			return time.Month(m + 1), true
		}
	}
	return 0, false
}

func isDayName(b []byte) bool {
	for _, name := range dayNames {
		if string(b) == name {
			return true
		}
	}
	return false
}

var longDayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func isLongDayName(b []byte) bool {
	for _, name := range longDayNames {
		if string(b) == name {
			return true
		}
	}
	return false
}

func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// AppendETag appends a strong entity-tag built from what fstat says about a
// file: `"` inode "-" size "-" ctime in nanoseconds `"`, each in lowercase
// hex. It changes when the file is replaced (a new inode, as an editor's or
// rsync's rename-into-place makes), resized, or changed at all: the ctime
// (status change) moves to now on every write, chmod or utimes, and no call
// can set it back — unlike the mtime, which `touch -d`, `cp -p` and
// `rsync -t` restore, and a tag made from it would then match the old
// content. It is only as strong as the ctime is fine: two same-size writes
// within one tick of the kernel's coarse clock, with no stat between them,
// give one tag (kernels from 6.13 stamp a write finely once the file has
// been looked at since its last change; before that, always coarsely). A
// file in the cache gets a hash of its bytes instead (static.Cache).
//
// Hex digits only, so the tag never holds the backslash RFC 9110 §8.8.3 warns
// against. The time is counted with wrap-around, so a date outside the ±292
// years that fit in int64 nanoseconds still gives a tag, only not a
// meaningful number.
func AppendETag(dst []byte, ino uint64, size int64, ctime time.Time) []byte {
	ns := uint64(ctime.Unix())*1e9 + uint64(ctime.Nanosecond())
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, ino, 16)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, uint64(size), 16)
	dst = append(dst, '-')
	dst = strconv.AppendUint(dst, ns, 16)
	return append(dst, '"')
}

// Validators of the selected representation (RFC 9110 §8.8). A zero field
// means the representation has no such validator.
type Validators struct {
	ETag         []byte    // a whole entity-tag, quotes and any W/ included
	LastModified time.Time // compared at the one-second resolution of an HTTP-date
}

// Preconditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since in the order of RFC 9110 §13.2.2. It returns 0 to go on
// with the request, 304 Not Modified or 412 Precondition Failed.
//
// Call it only when the response without the conditions would be a 2xx: a
// 404 or 301 wins over any precondition (§13.2.1). It is written for GET and
// HEAD, the methods rawserve serves; for any other method a failed
// If-None-Match is 412 and If-Modified-Since is ignored, as §13.1.2 and
// §13.1.3 say, and on CONNECT, OPTIONS and TRACE all four are ignored.
//
// If-Match and If-None-Match hold "*" or a list of entity-tags. A value that
// is neither — a mangled tag, or "*" mixed with tags — lists no tag, so it
// matches nothing: If-Match then fails with 412, and If-None-Match lets the
// full response through, which is never wrong. The dates are ignored when
// invalid, when sent twice, or when there is no Last-Modified (§13.1.3,
// §13.1.4).
func Preconditions(r *Request, v Validators) int {
	method := string(r.Method)
	if r.plain || method == "CONNECT" || method == "OPTIONS" || method == "TRACE" {
		return 0 // §13.2.1: a server MUST ignore them on these methods
	}
	safe := method == "GET" || method == "HEAD"

	// Steps 1 and 2: If-Match, with the strong comparison (§13.1.1); only
	// without it, If-Unmodified-Since (§13.1.4).
	if sent, match := matchETags(r, "If-Match", v.ETag, true); sent {
		if !match {
			return 412
		}
	} else if date, ok := singleDate(r, "If-Unmodified-Since"); ok && !v.LastModified.IsZero() {
		if v.LastModified.Unix() > date.Unix() { // modified after the date
			return 412
		}
	}

	// Steps 3 and 4: If-None-Match, with the weak comparison (§13.1.2);
	// only without it, and only for GET and HEAD, If-Modified-Since
	// (§13.1.3).
	if sent, match := matchETags(r, "If-None-Match", v.ETag, false); sent {
		if match {
			if safe {
				return 304
			}
			return 412
		}
	} else if date, ok := singleDate(r, "If-Modified-Since"); ok && safe && !v.LastModified.IsZero() {
		if v.LastModified.Unix() <= date.Unix() { // not modified since
			return 304
		}
	}
	return 0
}

// matchETags reads every field line called name as "*" / #entity-tag (RFC
// 9110 §13.1.1, §13.1.2). sent reports whether there was any; match whether
// the value is "*" — which matches any current representation, and the one
// we are asked about exists — or lists a tag equal to etag under the strong
// or weak comparison. A value that does not follow the grammar matches
// nothing. An empty list is valid and matches nothing either.
func matchETags(r *Request, name string, etag []byte, strong bool) (sent, match bool) {
	star, tags := 0, 0
	for i := range r.Fields {
		if !equalFold(r.Fields[i].Name, name) {
			continue
		}
		sent = true
		for list := r.Fields[i].Value; ; {
			list = trimOWS(list)
			if len(list) > 0 && list[0] == ',' {
				list = list[1:] // §5.6.1: empty elements are ignored
				continue
			}
			if len(list) == 0 {
				break
			}
			var ok bool
			if list[0] == '*' {
				star, list, ok = star+1, list[1:], true
			} else {
				var tag []byte
				if tag, list, ok = cutETag(list); ok {
					tags++
					match = match || etagMatch(tag, etag, strong)
				}
			}
			// An element ends at a comma, after OWS, or at the end.
			if rest := trimOWS(list); !ok || len(rest) > 0 && rest[0] != ',' {
				return true, false
			}
		}
	}
	if star > 0 {
		return sent, star == 1 && tags == 0 // "*" stands alone
	}
	return sent, match
}

// cutETag parses the entity-tag at the start of s (RFC 9110 §8.8.3):
//
//	entity-tag = [ %s"W/" ] DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// There is no quoted-pair: a backslash is an etagc like any other, and so is
// a comma.
func cutETag(s []byte) (tag, rest []byte, ok bool) {
	i := 0
	if len(s) >= 2 && s[0] == 'W' && s[1] == '/' {
		i = 2
	}
	if i >= len(s) || s[i] != '"' {
		return nil, nil, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[:j+1], s[j+1:], true
		case c <= ' ' || c == 0x7F:
			return nil, nil, false
		}
	}
	return nil, nil, false // the closing quote is missing
}

// etagMatch compares two entity-tags (RFC 9110 §8.8.3.2). The strong
// comparison needs both to be strong and their opaque-tags equal; the weak one
// only the opaque-tags. An empty tag — no validator — matches nothing.
func etagMatch(a, b []byte, strong bool) bool {
	oa, weakA := opaqueTag(a)
	ob, weakB := opaqueTag(b)
	if strong && (weakA || weakB) {
		return false
	}
	return len(oa) > 0 && string(oa) == string(ob)
}

func opaqueTag(tag []byte) (opaque []byte, weak bool) {
	if len(tag) >= 2 && tag[0] == 'W' && tag[1] == '/' {
		return tag[2:], true
	}
	return tag, false
}

// fieldLines returns the value of the field called name and how many field
// lines had that name. Fields that are not lists are invalid when repeated.
func fieldLines(r *Request, name string) (value []byte, n int) {
	for i := range r.Fields {
		if equalFold(r.Fields[i].Name, name) {
			value = r.Fields[i].Value
			n++
		}
	}
	return value, n
}

// singleDate parses the one field line called name as an HTTP-date. It fails
// when the field is absent, repeated ("more than one member", §13.1.3) or not
// a valid date.
func singleDate(r *Request, name string) (time.Time, bool) {
	value, n := fieldLines(r, name)
	if n != 1 {
		return time.Time{}, false
	}
	return ParseHTTPDate(value)
}

// Range is the byte range [Start, End) of a representation: Start is the
// first byte and End is one past the last, so End-Start bytes.
type Range struct{ Start, End int64 }

// MaxRanges is the most ranges one response sends. A request for more gets
// the whole representation instead: RFC 9110 §14.2 lets a server ignore a
// Range that asks for many ranges, which cost it work (a part head and a
// seek each) out of proportion to the bytes. 16 is our choice, not the
// RFC's: room for a client that wants a few pieces of a file at once, and a
// short, fixed list of parts per response.
const MaxRanges = 16

// RangeFor decides what the Range field of a request asks of a representation
// of size bytes (RFC 9110 §14). Call it after Preconditions returned 0
// (§13.2.2 step 5). status is
//
//   - 0: send the whole representation with 200. This is the answer when
//     there is no Range, when the method is not GET (§14.2: range handling is
//     defined for GET only), when If-Range does not hold, when the unit is not
//     bytes or the value is invalid (§14.2: a server MAY ignore it), when a
//     suffix range selects the whole of an empty representation, which no
//     Content-Range can describe, and when the ranges would cost more than
//     they save (see below);
//   - 206: send ranges, the satisfiable ones in the order asked (§14.6): one
//     alone, with Content-Range, or several as multipart/byteranges. They
//     are stored in buf;
//   - 416: no range is satisfiable (§14.1.1: every first-pos is at or past the
//     end, and every suffix-length is 0); send Content-Range: bytes */size.
//
// Ranges a client cannot sensibly want are how one request makes a server
// send many times a file's size: §14.2 names more than two overlapping
// ranges, and many small ones out of order, as the marks of a broken client
// or an attack, and lets a server ignore Range at any time. So more than
// MaxRanges satisfiable ranges, or any two that share a byte (no client
// needs a byte twice), get the whole representation, which is never wrong.
// What is left is at most MaxRanges parts that together hold each byte at
// most once: the body is never much longer than the file. Order alone costs
// nothing then, and is kept, as §14.6 asks.
//
// If-Range (§13.1.5) lets Range through only if its entity-tag matches
// v.ETag under the strong comparison — so a weak tag never does — or its
// date is exactly Last-Modified, to the second. Anything else, including an
// If-Range sent twice, means the client's copy is stale, and it gets the
// whole representation.
func RangeFor(r *Request, size int64, v Validators, buf *[MaxRanges]Range) (ranges []Range, status int) {
	if r.plain || string(r.Method) != "GET" {
		return nil, 0
	}
	value, n := fieldLines(r, "Range")
	if n != 1 || !ifRangeHolds(r, v) {
		return nil, 0 // absent, or repeated: Range is not a list field
	}
	n, ok := ParseRange(value, size, buf[:])
	switch {
	case !ok:
		return nil, 0
	case n == 0:
		return nil, 416
	case n > MaxRanges:
		return nil, 0
	}
	ranges = buf[:n]
	for i, a := range ranges {
		if a.Start == a.End {
			return nil, 0 // the whole of an empty representation
		}
		for _, b := range ranges[:i] {
			if a.Start < b.End && b.Start < a.End {
				return nil, 0 // overlapping
			}
		}
	}
	return ranges, 206
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5); it holds when absent.
// A Last-Modified date is strong enough here because it is compared with the
// file's own mtime by the origin itself (§8.8.2.2).
func ifRangeHolds(r *Request, v Validators) bool {
	value, n := fieldLines(r, "If-Range")
	switch {
	case n == 0:
		return true
	case n > 1:
		return false
	}
	if tag, rest, ok := cutETag(value); ok && len(rest) == 0 {
		return etagMatch(tag, v.ETag, true)
	}
	date, ok := ParseHTTPDate(value)
	return ok && !v.LastModified.IsZero() && date.Unix() == v.LastModified.Unix()
}

// ParseRange parses a Range value, ranges-specifier = range-unit "="
// range-set (RFC 9110 §14.1), and resolves it against a representation of
// size bytes. The unit must be bytes, in any case (§14.1: range units are
// case-insensitive); any other unit is not understood and so not ok.
//
// ok is false when the value is invalid, which makes the whole field
// ignorable (§14.2): an unknown unit, no range-spec, a malformed one, a
// last-pos before its first-pos (§14.1.1), or a position too large for an
// int64. A client that asks for bytes up to 10^19 could have meant "to the
// end", but RFC 9110 §14.1.1 tells recipients to guard against overflow and
// ignoring the field is always allowed, so we do not guess.
//
// n is how many of the range-specs are satisfiable (§14.1.1), and buf
// receives them in the order given, as many as it has room for, with
// last-pos clamped to the end (§14.1.2) and a suffix longer than the
// representation taken as all of it (§14.1.2). So 0 <= Start < End <= size
// for each, except for a suffix range on an empty representation, which is
// satisfiable and empty. A valid value with no satisfiable range is ok with
// n = 0.
func ParseRange(value []byte, size int64, buf []Range) (n int, ok bool) {
	if !hasPrefixFold(value, "bytes=") || size < 0 {
		return 0, false
	}
	set := value[len("bytes="):]
	// OWS is allowed around the commas of a list (§5.6.1), not at its ends.
	if len(set) == 0 || isOWS(set[0]) || isOWS(set[len(set)-1]) {
		return 0, false
	}
	specs := 0
	for more := true; more; {
		var spec []byte
		spec, set, more = cutElement(set)
		if len(spec) == 0 {
			continue // §5.6.1: empty elements are ignored
		}
		rg, sat, valid := parseByteRange(spec, size)
		if !valid {
			return 0, false // §14.1.1: one bad spec spoils the set
		}
		specs++
		if sat {
			if n < len(buf) {
				buf[n] = rg
			}
			n++
		}
	}
	if specs == 0 {
		return 0, false // range-set = 1#range-spec
	}
	return n, true
}

// parseByteRange parses int-range = first-pos "-" [ last-pos ] or
// suffix-range = "-" suffix-length (RFC 9110 §14.1.2), both without any
// whitespace, and resolves it against size.
func parseByteRange(spec []byte, size int64) (rg Range, satisfiable, ok bool) {
	dash := bytes.IndexByte(spec, '-')
	if dash < 0 {
		return Range{}, false, false
	}
	if dash == 0 {
		n, ok := parsePos(spec[1:])
		if !ok {
			return Range{}, false, false
		}
		if n == 0 {
			return Range{}, false, true // §14.1.1: a suffix must be non-zero
		}
		return Range{size - min(n, size), size}, true, true
	}
	start, ok := parsePos(spec[:dash])
	if !ok {
		return Range{}, false, false
	}
	end := size
	if last := spec[dash+1:]; len(last) > 0 {
		lastPos, ok := parsePos(last)
		if !ok || lastPos < start {
			return Range{}, false, false
		}
		if lastPos < size {
			end = lastPos + 1 // cannot overflow: lastPos < size <= MaxInt64
		}
	}
	if start >= size {
		return Range{}, false, true // §14.1.1: starts at or past the end
	}
	return Range{start, end}, true, true
}

// parsePos parses 1*DIGIT into an int64, failing rather than wrapping when
// the value does not fit. Leading zeros are allowed and cost nothing.
func parsePos(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n int64
	for _, b := range s {
		if !isDigit(b) {
			return 0, false
		}
		d := int64(b - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func isOWS(b byte) bool { return b == ' ' || b == '\t' }
