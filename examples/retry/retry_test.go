package retry

import (
	"errors"
	"io"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// The tests ask rawserve -faults (RAWSERVE_FAULTS=true) at $RAWSERVE_URL to
// misbehave, and check that Get does the right thing each time.
func server(t *testing.T) string {
	url := os.Getenv("RAWSERVE_URL")
	if url == "" {
		t.Skip("RAWSERVE_URL is not set: start rawserve -faults and point it there (../README.md)")
	}
	return url + "/_faults/"
}

// client gives each try 300 ms, body included.
var client = &http.Client{Timeout: 300 * time.Millisecond}

func TestRetriesUntilItWorks(t *testing.T) {
	// Half the tries fail with 503; twenty all fail once in a million runs.
	body, tries, err := Get(client, server(t)+"unstable/0.5/healthz", 20, time.Millisecond)
	if err != nil || string(body) != "ok\n" {
		t.Fatalf("%q after %d tries: %v", body, tries, err)
	}
	t.Logf("ok after %d tries", tries)
}

func TestGivesUpOn503(t *testing.T) {
	_, tries, err := Get(client, server(t)+"status/503", 3, time.Millisecond)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 || tries != 3 {
		t.Fatalf("%d tries, %v; want 3, then status 503", tries, err)
	}
}

func TestDoesNotRetry404(t *testing.T) {
	_, tries, err := Get(client, server(t)+"status/404", 3, time.Millisecond)
	if tries != 1 || err == nil {
		t.Fatalf("%d tries, %v; want 1, and an error", tries, err)
	}
}

func TestResetMidBody(t *testing.T) {
	// The head and 10 of 100 body bytes, then RST.
	body, tries, err := Get(client, server(t)+"reset/after/10/bytes/100", 3, time.Millisecond)
	if !errors.Is(err, syscall.ECONNRESET) || tries != 3 || body != nil {
		t.Fatalf("%d tries, %d bytes, %v; want 3, none, and connection reset", tries, len(body), err)
	}
}

func TestShortBodyIsAnError(t *testing.T) {
	// Content-Length 100, then FIN after 10.
	body, tries, err := Get(client, server(t)+"truncate/10/bytes/100", 3, time.Millisecond)
	if !errors.Is(err, io.ErrUnexpectedEOF) || tries != 3 || body != nil {
		t.Fatalf("%d tries, %d bytes, %v; want 3, none, and unexpected EOF", tries, len(body), err)
	}
}

func TestHangTimesOut(t *testing.T) {
	start := time.Now()
	_, tries, err := Get(client, server(t)+"hang", 3, time.Millisecond)
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() || tries != 3 || time.Since(start) > 2*time.Second {
		t.Fatalf("%d tries in %v, %v; want 3 timeouts of 300 ms", tries, time.Since(start), err)
	}
}
