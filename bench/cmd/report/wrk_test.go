package main

import "testing"

func TestParseWrk(t *testing.T) {
	clean := `Running 1s test @ http://127.0.0.1:18010/1mib.bin
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.82ms    1.69ms  12.05ms   86.61%
    Req/Sec   649.70    123.34   808.00     60.00%
  647 requests in 1.00s, 647.42MB read
Requests/sec:    646.75
Transfer/sec:    647.17MB
`
	flawed := `Running 2s test @ http://127.0.0.1:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    45.10us   12.00us   1.20ms   90.00%
    Req/Sec    30.12k     1.37k   32.00k    81.82%
  60240 requests in 2.00s, 7.70MB read
  Socket errors: connect 1, read 2, write 3, timeout 63
  Non-2xx or 3xx responses: 5
Requests/sec:  30120.00
Transfer/sec:      3.85KB
`
	tests := []struct {
		name string
		out  string
		want wrkResult
	}{
		{"clean", clean, wrkResult{OK: true, Requests: 647, ReqPerSec: 646.75, BytesPerSec: 647.17 * (1 << 20)}},
		{"errors", flawed, wrkResult{OK: true, Requests: 60240, ReqPerSec: 30120, BytesPerSec: 3.85 * 1024,
			Connect: 1, Read: 2, Write: 3, Timeout: 63, Non2xx: 5}},
		{"unable to connect", "unable to connect to 127.0.0.1:1 Connection refused\n", wrkResult{}},
		{"empty", "", wrkResult{}},
	}
	for _, tc := range tests {
		if got := parseWrk(tc.out); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := parseWrk(flawed).Errors(); got != 74 {
		t.Errorf("Errors() = %d, want 74", got)
	}
}

func TestSummarize(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	if s := summarize([]float64{3, 1, 2}); s != (stats{2, 1, 3, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := summarize([]float64{4, 1, nan, 2, 3}); s != (stats{2.5, 1, 4, 4}) {
		t.Errorf("even, NaN left out: %+v", s)
	}
	if s := summarize(nil); s.n != 0 {
		t.Errorf("empty: %+v", s)
	}
}
