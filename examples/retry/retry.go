// Package retry is a small retrying HTTP client — the kind of code whose
// worth is in how it fails, and which retry_test.go checks against
// rawserve -faults (see ../README.md).
package retry

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// StatusError is a response whose status says the request failed.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("status %d", e.Code) }

// Get fetches url with c, trying at most attempts times: again after a
// transport error (reset, closed, timed out; a body cut short too) or a
// 502, 503 or 504, waiting backoff, then twice as long, and so on. A body
// shorter than its Content-Length is an error, never a short success. It
// returns the body, how many tries it took, and the last error.
func Get(c *http.Client, url string, attempts int, backoff time.Duration) ([]byte, int, error) {
	var err error
	for try := 1; try <= attempts; try++ {
		if try > 1 {
			time.Sleep(backoff << (try - 2))
		}
		var body []byte
		body, err = getOnce(c, url)
		var se *StatusError
		if err == nil || errors.As(err, &se) && se.Code != 502 && se.Code != 503 && se.Code != 504 {
			return body, try, err // done, or a failure that trying again will not mend
		}
	}
	return nil, attempts, err
}

func getOnce(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // io.ErrUnexpectedEOF when it is cut short
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, &StatusError{resp.StatusCode}
	}
	return body, nil
}
