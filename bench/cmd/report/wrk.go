package main

import (
	"regexp"
	"strconv"
	"strings"
)

// wrkResult is what one wrk run printed.
type wrkResult struct {
	OK          bool    // a Requests/sec line was found: wrk ran to the end
	Requests    int64   // "N requests in …"
	ReqPerSec   float64 // "Requests/sec:"
	BytesPerSec float64 // "Transfer/sec:", in bytes
	Connect     int64   // "Socket errors: connect N, read N, write N, timeout N"
	Read        int64
	Write       int64
	Timeout     int64
	Non2xx      int64 // "Non-2xx or 3xx responses: N"
}

// Errors is every failed request or connection wrk counted.
func (r wrkResult) Errors() int64 { return r.Connect + r.Read + r.Write + r.Timeout + r.Non2xx }

var (
	reRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	reRate     = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	reTransfer = regexp.MustCompile(`(?m)^Transfer/sec:\s*([0-9.]+)\s*([KMGT]?B)`)
	reSocket   = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's text output. Lines wrk leaves out (it prints the
// error lines only when there were errors) count as zero; a run without a
// Requests/sec line did not finish (OK is false).
func parseWrk(out string) wrkResult {
	var r wrkResult
	if m := reRate.FindStringSubmatch(out); m != nil {
		r.ReqPerSec, _ = strconv.ParseFloat(m[1], 64)
		r.OK = true
	}
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reTransfer.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		r.BytesPerSec = v * float64(unit(m[2]))
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		r.Connect, _ = strconv.ParseInt(m[1], 10, 64)
		r.Read, _ = strconv.ParseInt(m[2], 10, 64)
		r.Write, _ = strconv.ParseInt(m[3], 10, 64)
		r.Timeout, _ = strconv.ParseInt(m[4], 10, 64)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r
}

// unit is the size of wrk's units, which are binary (KB = 1024 B).
func unit(s string) int64 {
	return int64(1) << (10 * strings.Index("BKMGT", s[:1]))
}
