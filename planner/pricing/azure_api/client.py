"""The HTTP side: :class:`RetailPricesClient`, its retry timing and its paging guards.

This is the only module of the planner that imports ``requests``. Timeouts and delays are seconds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from planner.pricing.azure_api.errors import (
    PriceApiConnectionError,
    PriceApiHttpError,
    PriceApiPagingError,
    PriceApiResponseError,
    PriceQueryError,
    one_line,
    short_url,
)
from planner.pricing.azure_api.parse import Page, parse_page
from planner.pricing.azure_api.query import DEFAULT_BASE_URL, validate_base_url

Sleep = Callable[[float], None]

MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # one page of the API is ~0.1-1 MB (100 items); decoded size
READ_CHUNK_BYTES = 64 * 1024


class ResponseTooLargeError(PriceApiResponseError):
    """A response body (after gzip/deflate decoding) was larger than the client accepts."""


class DeadlineError(PriceApiConnectionError):
    """A page did not arrive in full within the client's timeout."""


# --------------------------------------------------------------------------------------------
# URL helpers for paging guards


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port


_UNSAFE_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")


def _requests_origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) as urllib3 -- the parser ``requests`` sends with -- reads ``url``."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.host or "").lower(), port


def same_origin(url: str, base_url: str) -> bool:
    """True if ``url`` has the scheme, host and (default-filled) port of ``base_url``, read alike by
    the standard library and by urllib3 (the parser the request is sent with), with no userinfo,
    backslash, whitespace or control character that the two could read differently.

    ``https://prices.azure.com:443/...`` (as the API writes NextPageLink) matches
    ``https://prices.azure.com/...``.
    """
    if _UNSAFE_URL.search(url) or "@" in urlsplit(url).netloc:
        return False
    try:
        seen_by_requests = _requests_origin(url)
    except LocationParseError:
        return False
    base = _origin(base_url)
    return _origin(url) == base and seen_by_requests == base


def next_page_url(link: str, current_url: str, base_url: str) -> str:
    """The URL to fetch for a page's ``NextPageLink``: only its path and query are taken, put on
    the base URL's own scheme, host and port, after :func:`same_origin` accepted the link.
    Raises PriceApiPagingError for a link to anywhere else."""
    candidate = urljoin(current_url, link)
    if not same_origin(candidate, base_url):
        raise PriceApiPagingError(f"NextPageLink {one_line(candidate, 120)} is not on "
                                  f"{base_url}; refused")
    parts, base = urlsplit(candidate), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))


def page_identity(url: str) -> tuple[tuple[str, str, int], str, tuple[tuple[str, str], ...]]:
    """A canonical form of a page URL: origin, path and the sorted, decoded query pairs."""
    parts = urlsplit(url)
    pairs = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return _origin(url), parts.path.rstrip("/") or "/", pairs


# --------------------------------------------------------------------------------------------
# Retry timing


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delta-seconds or HTTP-date); None if unusable.

    A date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(attempt: int, retry_after: float | None, backoff_base: float, cap: float) -> float:
    """Seconds to sleep before retry number ``attempt`` (0-based).

    ``Retry-After`` wins when given; otherwise exponential backoff ``backoff_base * 2**attempt``.
    Either is capped at ``cap`` seconds.
    """
    delay = retry_after if retry_after is not None else backoff_base * (2**attempt)
    return min(max(0.0, delay), cap)


# --------------------------------------------------------------------------------------------
# Client


class RetailPricesClient:
    """HTTP client for the Azure Retail Prices API.

    ``timeout`` bounds one page, seconds: connecting, each read, and the whole response from the
    request to its last byte (a server dripping bytes is cut off). Bodies larger than
    ``max_response_bytes`` once decoded (an endless body, a gzip bomb) are refused while they
    arrive, never held in full. 429 and 5xx answers, connection
    errors, timeouts and cut bodies are retried ``max_retries`` times, sleeping per
    :func:`retry_delay` (``Retry-After`` honoured, capped at ``max_backoff`` seconds); anything else
    raises a :class:`PriceApiError` subclass. ``sleep`` is injectable so tests never wait.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        max_backoff: float = 60.0,
        max_pages: int = 500,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        sleep: Sleep = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise PriceQueryError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_retries < 0 or max_pages < 1:
            raise PriceQueryError("max_retries must be >= 0 and max_pages >= 1")
        self.base_url = validate_base_url(base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_pages = max_pages
        self.max_response_bytes = max_response_bytes
        self.sleep = sleep
        if session is None:
            session = requests.Session()
            session.headers.update(
                {"Accept": "application/json", "User-Agent": "planner-price-refresh/0.1"}
            )
        self._session = session

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> RetailPricesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_page(self, url: str) -> Page:
        """GET one page, retrying transient failures; returns the parsed page."""
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                deadline = time.monotonic() + self.timeout
                response = self._session.get(url, timeout=self.timeout, allow_redirects=False,
                                             stream=True)
                try:
                    body = self._read_body(response, url, deadline)
                finally:
                    response.close()
            except ResponseTooLargeError:
                raise
            except (requests.Timeout, DeadlineError) as exc:
                problem = f"timed out after {self.timeout:g} s"
                cause: Exception = exc
            except (requests.RequestException, Urllib3Error, OSError) as exc:
                problem = f"connection failed ({type(exc).__name__}: {one_line(str(exc), 120)})"
                cause = exc
            else:
                status = response.status_code
                if status == 200:
                    return parse_page(url, body)
                if status != 429 and status < 500:
                    detail = one_line(body.decode("utf-8", "replace"), 120)
                    where = response.headers.get("Location") if 300 <= status < 400 else None
                    raise PriceApiHttpError(
                        f"HTTP {status} from {short_url(url)}"
                        + (f" (redirect to {where} refused)" if where else "")
                        + (f": {detail}" if detail and not where else ""),
                        status,
                    )
                problem = f"HTTP {status}"
                cause = PriceApiHttpError(f"HTTP {status} from {short_url(url)}", status)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                message = f"{problem} from {short_url(url)} (gave up after {attempt + 1} attempts)"
                if isinstance(cause, PriceApiHttpError):
                    raise PriceApiHttpError(message, cause.status) from cause
                raise PriceApiConnectionError(message) from cause
            self.sleep(retry_delay(attempt, retry_after, self.backoff_base, self.max_backoff))
            attempt += 1

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        """The decoded body, read as it arrives: refused past ``max_response_bytes`` (declared or
        read) and cut off at ``deadline`` (time.monotonic() seconds)."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise ResponseTooLargeError(
                f"response from {short_url(url)} declares {int(declared):,} bytes, more than "
                f"{self.max_response_bytes:,}; refused")
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise DeadlineError(f"response from {short_url(url)} not complete within "
                                    f"{self.timeout:g} s")
            # read1: returns as soon as some data is there (each wait bounded by the socket
            # timeout); urllib3 bounds the decoded output of a chunk, so a gzip bomb inflates
            # at most one chunk past the cap before it is refused
            chunk = response.raw.read1(READ_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_response_bytes:
                raise ResponseTooLargeError(
                    f"response from {short_url(url)} is larger than "
                    f"{self.max_response_bytes:,} bytes (decoded); refused")
            chunks.append(chunk)

    def iter_pages(self, url: str) -> Iterator[Page]:
        """Yield the page at ``url`` and every page its ``NextPageLink`` chain leads to.

        Refuses (PriceApiPagingError) a link to another origin than the base URL, a link back to a
        page already fetched, and more than ``max_pages`` pages.
        """
        if not same_origin(url, self.base_url):
            raise PriceApiPagingError(f"refusing to fetch {short_url(url)}: not on {self.base_url}")
        seen = {page_identity(url)}
        contents: dict[str, int] = {}
        fetched = 0
        while True:
            page = self.get_page(url)
            fetched += 1
            if page.items:
                digest = hashlib.sha256(json.dumps(page.items, sort_keys=True).encode()).hexdigest()
                if digest in contents:
                    raise PriceApiPagingError(
                        f"page {fetched} ({short_url(url)}) repeats the items of page "
                        f"{contents[digest]}: the paging is broken; refresh again later")
                contents[digest] = fetched
            yield page
            if page.next_page_link is None:
                return
            next_url = next_page_url(page.next_page_link, url, self.base_url)
            identity = page_identity(next_url)
            if identity in seen:
                raise PriceApiPagingError(
                    f"NextPageLink loops back to a page already fetched: {short_url(next_url)}"
                )
            if fetched >= self.max_pages:
                raise PriceApiPagingError(
                    f"more than {self.max_pages} pages; stopped at {short_url(url)}"
                )
            seen.add(identity)
            url = next_url

    def fetch_items(self, url: str, on_page: Callable[[Page], None] | None = None) -> list[dict]:
        """All items of the chain starting at ``url``; ``on_page`` is called after each page."""
        items: list[dict] = []
        for page in self.iter_pages(url):
            items.extend(page.items)
            if on_page is not None:
                on_page(page)
        return items
