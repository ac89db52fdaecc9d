package http1

import (
	"strconv"
	"time"
)

// Clock caches the Date header value of the current second, so a server
// answering thousands of requests a second formats the date once. It is not
// safe for concurrent use: keep one per serving loop.
type Clock struct {
	sec   int64 // the Unix second buf holds
	valid bool
	buf   [len("Sun, 06 Nov 1994 08:49:37 GMT")]byte
}

// Date returns now as an IMF-fixdate. The slice is the Clock's own and is
// overwritten when a later call falls in another second.
func (c *Clock) Date(now time.Time) []byte {
	if sec := now.Unix(); !c.valid || sec != c.sec {
		AppendIMFFixdate(c.buf[:0], now)
		c.sec, c.valid = sec, true
	}
	return c.buf[:]
}

var (
	dayNames   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// AppendIMFFixdate appends t in the one date format HTTP senders use, for
// example "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), always in UTC.
// It is written out by hand because time.Format allocates. Years are
// assumed to lie in 0000–9999.
func AppendIMFFixdate(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	dst = append(dst, dayNames[t.Weekday()]...)
	dst = append(dst, ", "...)
	dst = appendPadded(dst, day, 2)
	dst = append(dst, ' ')
	dst = append(dst, monthNames[month-1]...)
	dst = append(dst, ' ')
	dst = appendPadded(dst, year, 4)
	dst = append(dst, ' ')
	dst = appendPadded(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, second, 2)
	return append(dst, " GMT"...)
}

// appendPadded appends v in decimal, with leading zeros to width digits.
func appendPadded(dst []byte, v, width int) []byte {
	n := 1
	for x := v; x >= 10; x /= 10 {
		n++
	}
	for ; n < width; n++ {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(v), 10)
}
