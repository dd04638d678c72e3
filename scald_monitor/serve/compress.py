"""gzip for the API's JSON answers, when the client accepts it (every browser does).

A dashboard page over one day of ten jobs reads about 1.6 MB of JSON per load: numbers as decimal text, which gzip
shrinks 2.5 to 3.5 times. Level 1 is used: on a 270 kB answer it takes ~6 ms for 2.6x, where level 6 takes four
times as long for 3.4x; the page's server is often the same small machine its data come from, and the answer cache
keeps the compressed bytes too (:func:`.api._data_route`), so an answer shared by many browsers is compressed once.
Answers under :data:`MIN_SIZE` are sent as they are (a packet either way). Every JSON answer says
``Vary: Accept-Encoding``, so that a cache between server and browser never hands gzip to a client that did not ask.
"""
from __future__ import annotations

import gzip

from flask import Response, request

__all__ = ["GZIP_LEVEL", "MIN_SIZE", "accepts_gzip", "apply", "compress_response", "gzip_body", "wanted"]

GZIP_LEVEL = 1
#: Smaller bodies fit one packet anyway: not worth a compressor's time (or a header's bytes).
MIN_SIZE = 1024


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (RFC 9110 §12.5.3: ``gzip``, ``x-gzip`` or ``*``, not q=0)."""
    if not header:
        return False
    named = star = None
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            named = q if named is None else max(named, q)
        elif coding == "*":
            star = q
    if named is not None:
        return named > 0
    return bool(star and star > 0)


def wanted(size: int) -> bool:
    """Whether this request's answer of ``size`` bytes should be sent gzipped."""
    return size >= MIN_SIZE and accepts_gzip(request.headers.get("Accept-Encoding"))


def gzip_body(body: bytes) -> bytes:
    """The gzip member of ``body`` (no timestamp in it: the same answer compresses to the same bytes)."""
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


def apply(response: Response, gz: bytes) -> Response:
    """Make ``response`` the gzip-encoded answer ``gz`` (its body compressed already)."""
    response.set_data(gz)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(gz))
    return response


def _vary(response: Response) -> None:
    if "accept-encoding" not in response.headers.get("Vary", "").lower():
        response.headers.add("Vary", "Accept-Encoding")


def compress_response(response: Response) -> Response:
    """The API blueprint's ``after_request``: a JSON answer of ``MIN_SIZE`` bytes or more is gzipped when the
    client accepts it (unless a route did it already, from its cache); every JSON answer varies on it."""
    if response.mimetype != "application/json" or response.direct_passthrough:
        return response
    _vary(response)
    if "Content-Encoding" in response.headers:
        return response
    body = response.get_data()
    if wanted(len(body)):
        apply(response, gzip_body(body))
    return response
