package serve

import "testing"

// TestEpoll runs the HTTP conformance tests again, against the epoll model:
// start picks it for every test that runs under this one. The tests about
// the serial model's one-at-a-time behaviour are left out; the epoll
// model's own are below.
func TestEpoll(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"KeepAliveAndPipelining", TestKeepAliveAndPipelining},
		{"HTTP10", TestHTTP10},
		{"ErrorsAndClose", TestErrorsAndClose},
		{"HeaderTimeoutSilent", TestHeaderTimeoutSilent},
		{"HeaderTimeoutSlowloris", TestHeaderTimeoutSlowloris},
		{"HeaderTimeoutFromAccept", TestHeaderTimeoutFromAccept},
		{"DefaultPage", TestDefaultPage},
		{"AccessLog", TestAccessLog},
		{"Dir", TestDir},
		{"ShutdownFinishesResponse", TestShutdownFinishesResponse},
		{"HalfClosedClient", TestHalfClosedClient},
		{"Expect100", TestExpect100},
		{"PipelinedChunked", TestPipelinedChunked},
		{"ConditionalAndRange", TestConditionalAndRange},
		{"ETagChangesWithFile", TestETagChangesWithFile},
		{"FutureLastModified", TestFutureLastModified},
		{"KeepAliveAllocations", TestKeepAliveAllocations},
		{"CloseAllocations", TestCloseAllocations},
	} {
		t.Run(tc.name, tc.f)
	}
}
