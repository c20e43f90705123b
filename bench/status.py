"""Print the HTTP status of one GET like wrk's (through the TLS proxy, no redirects followed).

Usage: status.py URL ATTEMPTS [ENCODING] — retries connection failures while the server starts;
ENCODING (other than "identity") is sent as Accept-Encoding.
"""

import sys
import time
import urllib.error
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main(url: str, attempts: int, encoding: str = "identity") -> None:
    if not url.startswith("http://127.0.0.1:"):
        raise SystemExit(f"only the local benchmark server, not {url}")
    opener = urllib.request.build_opener(NoRedirect)
    headers = {"X-Forwarded-Proto": "https"}
    if encoding != "identity":
        headers["Accept-Encoding"] = encoding
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (checked above)
    for attempt in range(attempts):
        try:
            with opener.open(request, timeout=10) as response:
                print(response.status)
                return
        except urllib.error.HTTPError as error:
            print(error.code)
            return
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])
