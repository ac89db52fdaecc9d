"""A retrying HTTP client in Python's standard library, tested against
rawserve -faults (RAWSERVE_FAULTS=true) at $RAWSERVE_URL: see README.md.

    RAWSERVE_URL=http://127.0.0.1:8080 python3 examples/retry/test_retry.py
"""
import http.client
import os
import time
import unittest
import urllib.error
import urllib.request

BASE = os.environ.get("RAWSERVE_URL", "http://127.0.0.1:8080") + "/_faults/"
RETRY_STATUS = {502, 503, 504}


class Retrier:
    """get() tries a URL at most `attempts` times: again after a transport
    error (reset, closed, timed out, a body cut short) or a 502/503/504,
    with exponential backoff; `tries` says how many it took."""

    def __init__(self, attempts=3, timeout=0.3, backoff=0.001):
        self.attempts, self.timeout, self.backoff = attempts, timeout, backoff
        self.tries = 0

    def get(self, url):
        for self.tries in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as r:
                    return r.read()  # IncompleteRead when the body is cut short
            except urllib.error.HTTPError as e:
                if e.code not in RETRY_STATUS or self.tries == self.attempts:
                    raise
            except (ConnectionError, http.client.IncompleteRead, TimeoutError):
                if self.tries == self.attempts:
                    raise
            time.sleep(self.backoff * 2 ** (self.tries - 1))


class RetryTest(unittest.TestCase):
    def test_retries_until_it_works(self):
        # Half the tries fail with 503; twenty all fail once in a million runs.
        r = Retrier(attempts=20)
        self.assertEqual(r.get(BASE + "unstable/0.5/healthz"), b"ok\n")

    def test_gives_up_on_503(self):
        r = Retrier()
        with self.assertRaises(urllib.error.HTTPError) as e:
            r.get(BASE + "status/503")
        self.assertEqual((e.exception.code, r.tries), (503, 3))

    def test_does_not_retry_404(self):
        r = Retrier()
        with self.assertRaises(urllib.error.HTTPError):
            r.get(BASE + "status/404")
        self.assertEqual(r.tries, 1)

    def test_reset_mid_body(self):
        r = Retrier()  # the head and 10 of 100 body bytes, then RST
        with self.assertRaises(ConnectionResetError):
            r.get(BASE + "reset/after/10/bytes/100")
        self.assertEqual(r.tries, 3)

    def test_short_body_is_an_error(self):
        r = Retrier()  # Content-Length 100, then FIN after 10
        with self.assertRaises(http.client.IncompleteRead):
            r.get(BASE + "truncate/10/bytes/100")
        self.assertEqual(r.tries, 3)

    def test_hang_times_out(self):
        r, start = Retrier(), time.monotonic()
        with self.assertRaises(TimeoutError):
            r.get(BASE + "hang")
        self.assertEqual(r.tries, 3)
        self.assertLess(time.monotonic() - start, 2)


if __name__ == "__main__":
    unittest.main()
