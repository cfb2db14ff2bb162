"""Gzip for the answers the page cache does not pack itself (civicstat/web.py packs its own).

Django's GZipMiddleware, with the page cache's threshold: a body under GZIP_MIN_BYTES goes out
plain on either path, so a cached answer and the miss that filled the cache carry the same
headers, and no client unpacks a few hundred bytes to save a few dozen.

BREACH (a secret in a compressed body, guessed from the sizes of answers that also reflect the
attacker's input): the only secret a body holds is the CSRF token, which Django masks anew for
every response, and Django's GZipMiddleware pads each gzip header with a random number of bytes
("Heal the Breach"), so sizes leak nothing steady. The page cache puts the token in a stored,
uncompressed block of its own (lib/gzipslots.py). Session cookies are headers, never compressed.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware

GZIP_MIN_BYTES = 1024  # below this, gzip's header and the client's work outweigh the saving


class GZipMiddleware(DjangoGZipMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not response.streaming and len(response.content) < GZIP_MIN_BYTES:  # type: ignore[attr-defined]
            return response
        return super().process_response(request, response)
