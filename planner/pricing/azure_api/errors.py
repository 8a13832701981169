"""Errors of the price refresh, and the helpers that keep their messages short and on one line.

Every API failure is a :class:`planner.errors.PriceApiError` subclass, so callers can catch the lot
or one kind (offline, HTTP status, malformed answer, unsafe paging, empty result).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from planner.errors import PlannerError, PriceApiError


class PriceQueryError(PriceApiError):
    """The request could not be built from the inputs (bad region, SKU, currency or URL)."""


class PriceApiHttpError(PriceApiError):
    """The API answered with an HTTP error status (after retries for 429 and 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PriceApiConnectionError(PriceApiError):
    """The API could not be reached or the response was cut (after retries)."""


class PriceApiResponseError(PriceApiError):
    """A response body was not the documented JSON envelope, or an item was malformed."""


class PriceApiPagingError(PriceApiError):
    """``NextPageLink`` was unsafe: another host, a page already fetched, or too many pages."""


class EmptyPriceResultError(PriceApiError):
    """The API returned nothing usable; the snapshot is left as it was."""


class SnapshotWriteError(PlannerError):
    """The snapshot could not be written safely (nothing was replaced)."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so an error message stays on one line, at most ``limit`` chars, with
    terminal control characters (escape sequences from a server's body) removed."""
    flat = " ".join(_CONTROL.sub("", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def short_url(url: str) -> str:
    """A page URL for messages: host, path and ``$skip`` (the filter is long and known)."""
    parts = urlsplit(url)
    skip = dict(parse_qsl(parts.query)).get("$skip")
    where = f"{parts.netloc}{parts.path}"
    return one_line(f"{where} ($skip={skip})" if skip else where, 160)

