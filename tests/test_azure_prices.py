"""Azure Retail Prices client, normaliser, merge and ``prices refresh`` / ``prices status``.

HTTP tests run against a real ``ThreadingHTTPServer`` on 127.0.0.1 serving the recorded pages of
``tests/data/azure_prices/`` (see its README). The server fails the test on any request it was not
told to expect, and every failure test checks the old snapshot survives byte for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import io
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog import PriceRow, load_rows
from planner.cli import main as cli_main
from planner.errors import PlannerError, PriceApiError
from planner.pricing import azure_api as ap
from planner.pricing.azure_api.snapshot import row_to_csv

DATA = Path(__file__).resolve().parent / "data" / "azure_prices"
REPO = Path(__file__).resolve().parent.parent
SKUS_CSV = DATA / "azure_skus.csv"
TODAY = dt.date(2025, 7, 1)
API_PATH = "/api/retail/prices"

A100, H100, T4 = "Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5", "Standard_NC4as_T4_v3"
ND96, NV36 = "Standard_ND96isr_H100_v5", "Standard_NV36ads_A10_v5"
ALL_SKUS = (A100, H100, T4, ND96, NV36)  # sorted, as the client orders them


def vm_filter(region: str) -> str:
    """The exact $filter the client must send for one region and all five fixture SKUs."""
    skus = " or ".join(f"armSkuName eq '{sku}'" for sku in ALL_SKUS)
    return f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and ({skus})"


def first_page_query(region: str) -> dict[str, str]:
    return {
        "api-version": "2023-01-01-preview",
        "currencyCode": "'USD'",
        "$filter": vm_filter(region),
    }


# ------------------------------------------------------------------------------------------------
# Fake API server


@dataclass
class Reply:
    """One canned HTTP answer. ``cut_at`` sends only that many body bytes (Content-Length stays
    the full length) and drops the connection; ``delay`` waits before answering (seconds)."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_at: int | None = None
    reset: bool = False  # close the connection with a TCP reset instead of answering


def route_key(path: str, query: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return path, tuple(sorted(parse_qsl(query, keep_blank_values=True)))


class FakeApi:
    """Routes (path, decoded query) -> queue of replies; records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, tuple[tuple[str, str], ...]], deque[Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.unexpected: list[str] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.origin = ""

    @property
    def base_url(self) -> str:
        return self.origin + API_PATH

    def page(self, name: str, **changes: object) -> Reply:
        """A recorded page with ``{origin}`` filled in and top-level fields overridden."""
        text = (DATA / name).read_text(encoding="utf-8").replace("{origin}", self.origin)
        data = json.loads(text)
        data.update(changes)
        return Reply(body=json.dumps(data).encode())

    def expect(self, query: dict[str, str] | str, *replies: Reply) -> None:
        """Serve ``replies`` in turn for a query dict (on API_PATH) or a full URL."""
        if isinstance(query, str):
            parts = urlsplit(query)
            key = route_key(parts.path, parts.query)
        else:
            key = (API_PATH, tuple(sorted(query.items())))
        self.routes.setdefault(key, deque()).extend(replies)

    def expect_chain(self, query: dict[str, str], *replies: Reply) -> list[dict[str, str]]:
        """Register pages along their NextPageLink chain; returns each page's expected query."""
        queries = [query]
        self.expect(query, replies[0])
        for previous, reply in itertools.pairwise(replies):
            link = json.loads(previous.body)["NextPageLink"]
            self.expect(link, reply)
            queries.append(dict(parse_qsl(urlsplit(link).query)))
        return queries

    def take(self, raw_path: str) -> Reply | None:
        parts = urlsplit(raw_path)
        with self.lock:
            self.requests.append((parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))))
            queue = self.routes.get(route_key(parts.path, parts.query))
            if not queue:
                self.unexpected.append(raw_path)
                return None
            return queue.popleft()

    def leftovers(self) -> list[str]:
        return [f"{path}?{dict(query)}" for (path, query), q in self.routes.items() if q]


def make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            reply = api.take(self.path)
            if reply is None:
                reply = Reply(status=404, body=b'{"error": "unexpected request in test"}')
            if reply.delay:
                api.release.wait(reply.delay)
            if reply.reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                body = reply.body if reply.cut_at is None else reply.body[: reply.cut_at]
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            if reply.cut_at is not None:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    fake.origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not fake.unexpected, f"unexpected requests: {fake.unexpected}"
    assert not fake.leftovers(), f"expected requests never made: {fake.leftovers()}"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep requests to the local server off any proxy configured in the environment."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """A private copy of the fixture snapshot (the shipped data file is never touched)."""
    path = tmp_path / "prices" / "azure_retail_prices.csv"
    path.parent.mkdir()
    shutil.copyfile(DATA / "snapshot.csv", path)
    return path


def refresh(api: FakeApi, out: Path, sleeps: list[float] | None = None, **kwargs: object):
    options: dict = {
        "regions": ["eastus"],
        "currency": "USD",
        "base_url": api.base_url,
        "out_path": out,
        "skus_path": SKUS_CSV,
        "today": TODAY,
        "sleep": (sleeps if sleeps is not None else []).append,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return ap.refresh_snapshot(**options)


def prices_by_key(path: Path) -> dict[tuple[str, str, str], PriceRow]:
    return {row.key: row for row in load_rows(path, PriceRow)}


def eastus_chain(api: FakeApi) -> list[Reply]:
    return [api.page(f"eastus_page{n}.json") for n in (1, 2, 3)]


# ------------------------------------------------------------------------------------------------
# Query building (pure)


def test_filter_is_built_from_typed_inputs() -> None:
    assert ap.build_filter("eastus", [A100]) == (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' "
        "and armSkuName eq 'Standard_NC24ads_A100_v4'"
    )
    assert ap.build_filter("eastus", list(ALL_SKUS)) == vm_filter("eastus")
    assert ap.build_filter("westeurope", [A100], "Reservation").endswith(
        "and priceType eq 'Reservation'"
    )
    assert ap.odata_quote("it's") == "'it''s'"


def test_first_page_url_encodes_spaces_and_quotes() -> None:
    url = ap.build_query_url(ap.DEFAULT_BASE_URL, "EUR", ap.build_filter("eastus", [T4]))
    assert url == (
        "https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview"
        "&currencyCode=%27EUR%27&$filter=serviceName%20eq%20%27Virtual%20Machines%27%20and%20"
        "armRegionName%20eq%20%27eastus%27%20and%20armSkuName%20eq%20%27Standard_NC4as_T4_v3%27"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: ap.build_filter("East US", [A100]),
        lambda: ap.build_filter("eastus", ["NC24ads_A100_v4"]),
        lambda: ap.build_filter("eastus", []),
        lambda: ap.build_query_url(ap.DEFAULT_BASE_URL, "usd", "x"),
        lambda: ap.build_query_url("ftp://prices.azure.com/x", "USD", "x"),
        lambda: ap.build_query_url("https://prices.azure.com/api?x=1", "USD", "x"),
    ],
)
def test_bad_query_inputs_raise_typed_error(call) -> None:
    with pytest.raises(ap.PriceQueryError):
        call()


@settings(max_examples=25, deadline=None)
@given(
    regions=st.lists(st.sampled_from(["eastus", "westeurope", "southcentralus"]), min_size=1,
                     max_size=3, unique=True),
    skus=st.lists(st.from_regex(r"Standard_[A-Za-z0-9_]{1,40}", fullmatch=True), min_size=1,
                  max_size=30, unique=True),
    max_len=st.integers(min_value=450, max_value=2500),
    per_query=st.integers(min_value=1, max_value=12),
)
def test_queries_cover_each_region_sku_once_within_url_limit(
    regions: list[str], skus: list[str], max_len: int, per_query: int
) -> None:
    queries = ap.build_queries(ap.DEFAULT_BASE_URL, "USD", regions, skus,
                               max_url_length=max_len, max_skus_per_query=per_query)
    pairs = [(q.region, sku) for q in queries for sku in q.skus]
    assert sorted(pairs) == sorted((r, s) for r in regions for s in skus)
    assert all(len(q.url) <= max_len and len(q.skus) <= per_query for q in queries)


def test_a_single_sku_too_long_for_the_limit_is_refused() -> None:
    with pytest.raises(ap.PriceQueryError, match="longer than"):
        ap.build_queries(ap.DEFAULT_BASE_URL, "USD", ["eastus"], [A100], max_url_length=100)


# ------------------------------------------------------------------------------------------------
# Retry timing and URL guards (pure)


def test_retry_after_seconds_and_http_date() -> None:
    now = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert ap.parse_retry_after("7") == 7.0
    assert ap.parse_retry_after(" 2.5 ") == 2.5
    assert ap.parse_retry_after("Tue, 01 Jul 2025 12:00:30 GMT", now) == 30.0
    assert ap.parse_retry_after("Tue, 01 Jul 2025 11:00:00 GMT", now) == 0.0
    assert ap.parse_retry_after("soon") is None
    assert ap.parse_retry_after(None) is None
    assert ap.parse_retry_after("-3") == 0.0


def test_retry_delay_backs_off_exponentially_and_is_capped() -> None:
    assert [ap.retry_delay(n, None, 1.0, 60.0) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert ap.retry_delay(10, None, 1.0, 60.0) == 60.0
    assert ap.retry_delay(0, 7.0, 1.0, 60.0) == 7.0
    assert ap.retry_delay(0, 3600.0, 1.0, 60.0) == 60.0


def test_same_origin_fills_default_ports() -> None:
    base = "https://prices.azure.com/api/retail/prices"
    assert ap.same_origin("https://prices.azure.com:443/api/retail/prices?$skip=100", base)
    assert ap.same_origin("https://PRICES.azure.com/api/retail/prices", base)
    assert not ap.same_origin("http://prices.azure.com/api/retail/prices", base)
    assert not ap.same_origin("https://prices.azure.com.evil.example/api", base)
    assert not ap.same_origin("https://prices.azure.com:8443/api", base)


def test_page_identity_ignores_parameter_order_and_encoding() -> None:
    a = "https://h/api?$filter=a%20eq%20%27b%27&$skip=100"
    b = "https://h:443/api?$skip=100&$filter=a eq 'b'"
    assert ap.page_identity(a) == ap.page_identity(b)
    assert ap.page_identity(a) != ap.page_identity("https://h/api?$filter=a%20eq%20%27b%27&$skip=200")


# ------------------------------------------------------------------------------------------------
# Normalisation (pure)


def normalize(items: list[dict], skus: set[str], **kwargs: object) -> ap.NormalizedPrices:
    return ap.normalize_items(items, known_skus=skus, as_of=TODAY, source="test", **kwargs)


def recorded_items(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["Items"]


def test_normalize_the_real_13_row_b16als_dump() -> None:
    result = normalize(recorded_items("b16als_v2_australiacentral.json"), {"Standard_B16als_v2"})
    prices = {row.plan: row.price_per_hour for row in result.rows}
    assert prices == {
        "payg": 0.673,
        "spot": 0.6057,
        "reserved-1y": 3478.0 / 8760,
        "reserved-3y": 6721.0 / 26280,
        "savings-1y": 0.49129,
        "savings-3y": 0.34323,
    }
    assert {row.region for row in result.rows} == {"australiacentral"}
    assert all(row.status == "quoted" and row.currency == "USD" for row in result.rows)
    assert result.duplicates == ()
    assert result.skipped == {
        "Windows meter": 3,
        "Dev/Test meter": 3,
        "Cloud Services meter": 2,
        "Low Priority meter": 1,
    }
    payg = next(row for row in result.rows if row.plan == "payg")
    assert payg.meter_id == "25385797-d48b-5b47-9e0c-6ee37b6b9a8d"
    assert payg.effective_start_date == dt.date(2023, 9, 1)
    assert payg.as_of == TODAY and payg.notes == ""


def test_normalize_ms_docs_reservation_converts_whole_term_price_to_hourly() -> None:
    page = recorded_items("eastus_page3.json")
    item = next(i for i in page if i["armSkuName"] == "Standard_E64_v4")
    assert normalize([item], {A100}).rows == ()  # not in the catalog: dropped
    (row,) = normalize([item], {"Standard_E64_v4"}).rows
    assert row.key == ("Standard_E64_v4", "southcentralus", "reserved-1y")
    assert row.price_per_hour == 25007.0 / 8760
    assert row.meter_id == "0016083a-928f-56fd-8eeb-39287dcf676d"
    assert row.effective_start_date == dt.date(2020, 8, 1)
    assert "25007" in row.notes and "/ 8760 h" in row.notes and "whole-term" in row.notes


def test_normalize_three_year_term_and_multi_hour_units() -> None:
    base = recorded_items("eastus_page2.json")[1]  # 3 Years reservation, 37230.0
    (row,) = normalize([base], {A100}).rows
    assert row.plan == "reserved-3y" and row.price_per_hour == 37230.0 / 26280
    payg = dict(recorded_items("eastus_page1.json")[0], unitOfMeasure="10 Hours", retailPrice=36.73)
    rows = {r.plan: r for r in normalize([payg], {A100}).rows}
    assert rows["payg"].price_per_hour == pytest.approx(3.673)
    assert "per 10 Hours" in rows["payg"].notes
    assert rows["savings-1y"].price_per_hour == pytest.approx(0.26446)


def test_normalize_duplicates_pick_latest_effective_start_and_report_it() -> None:
    result = normalize(recorded_items("eastus_page3.json"), {H100})
    (row,) = result.rows
    assert row.price_per_hour == 7.35
    (dup,) = result.duplicates
    assert dup.key == (H100, "eastus", "payg")
    assert dup.kept.meter_id == "h100eus0-0000-4000-8000-000000000002"
    assert [r.meter_id for r in dup.dropped] == ["h100eus0-0000-4000-8000-000000000001"]
    reversed_order = normalize(list(reversed(recorded_items("eastus_page3.json"))), {H100})
    assert reversed_order.rows == result.rows


def test_normalize_skips_expired_future_tiered_and_zero_prices() -> None:
    item = recorded_items("eastus_page1.json")[2]  # spot 0.444433
    cases = {
        "expired": dict(item, effectiveEndDate="2025-01-01T00:00:00Z"),
        "future": dict(item, effectiveStartDate="2026-01-01T00:00:00Z"),
        "tiered": dict(item, tierMinimumUnits=100.0),
        "zero": dict(item, retailPrice=0.0),
    }
    result = normalize(list(cases.values()), {A100})
    assert result.rows == ()
    assert sum(result.skipped.values()) == 4


@pytest.mark.parametrize(
    "change",
    [{"retailPrice": "cheap"}, {"armSkuName": None}, {"effectiveStartDate": "yesterday"},
     {"retailPrice": float("nan")}],
)
def test_normalize_malformed_item_raises(change: dict) -> None:
    item = dict(recorded_items("eastus_page1.json")[0], **change)
    with pytest.raises(ap.PriceApiResponseError, match="malformed item #0"):
        normalize([item], {A100})


def test_normalize_refuses_an_item_in_another_currency() -> None:
    item = dict(recorded_items("eastus_page1.json")[0], currencyCode="EUR")
    with pytest.raises(ap.PriceApiResponseError, match="EUR"):
        normalize([item], {A100}, currency="USD")


# ------------------------------------------------------------------------------------------------
# Refresh against the local server


def test_multi_page_chain_is_followed_normalised_and_merged(api: FakeApi, snapshot: Path) -> None:
    old_text = snapshot.read_text(encoding="utf-8")
    chain = api.expect_chain(first_page_query("eastus"), *eastus_chain(api))
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    progress: list[tuple[int, int]] = []

    report = refresh(api, snapshot, regions=["westeurope", "eastus"],
                     progress=lambda pages, items: progress.append((pages, items)))

    assert [query for _, query in api.requests] == [*chain, first_page_query("westeurope")]
    assert [q.get("$skip") for q in chain] == [None, "4", "9"]
    assert all(path == API_PATH for path, _ in api.requests)
    assert progress == [(1, 4), (2, 9), (3, 14), (4, 17)]
    assert (report.pages, report.items, report.queries) == (4, 17, 2)

    rows = prices_by_key(snapshot)
    assert {key: (row.price_per_hour, row.status) for key, row in rows.items()} == {
        (A100, "eastus", "payg"): (3.673, "quoted"),
        (A100, "eastus", "spot"): (0.444433, "quoted"),
        (A100, "eastus", "reserved-1y"): (19307.0 / 8760, "quoted"),
        (A100, "eastus", "reserved-3y"): (37230.0 / 26280, "quoted"),
        (A100, "eastus", "savings-1y"): (2.6446, "quoted"),
        (A100, "eastus", "savings-3y"): (1.8365, "quoted"),
        (T4, "eastus", "payg"): (0.526, "quoted"),
        (T4, "eastus", "spot"): (0.062699, "quoted"),
        (T4, "eastus", "savings-1y"): (0.3471, "quoted"),
        (T4, "eastus", "savings-3y"): (0.2367, "quoted"),
        (H100, "eastus", "payg"): (7.35, "quoted"),  # latest of two meters
        (ND96, "eastus", "payg"): (None, "missing"),  # only a Windows meter: stays missing
        (NV36, "eastus", "payg"): (3.2, "estimated"),  # API lacks it: human estimate kept
        (A100, "westeurope", "payg"): (3.70, "quoted"),
        (A100, "westeurope", "spot"): (0.5134, "quoted"),
        (A100, "westeurope", "savings-1y"): (2.6643, "quoted"),
        (A100, "westeurope", "savings-3y"): (1.8502, "quoted"),
        (A100, "westus2", "payg"): (3.673, "quoted"),  # region not refreshed
    }
    reserved = rows[(A100, "eastus", "reserved-1y")]
    assert reserved.as_of == TODAY and reserved.effective_start_date == dt.date(2023, 6, 1)
    assert reserved.meter_id == "a100eus0-0000-4000-8000-000000000001"
    assert reserved.source == (
        f"Azure Retail Prices API {api.base_url}?api-version=2023-01-01-preview"
    )
    assert "19307" in reserved.notes and "8760" in reserved.notes
    assert "savings plan" in rows[(A100, "eastus", "savings-1y")].notes

    new_text = snapshot.read_text(encoding="utf-8")
    assert new_text.splitlines()[0] == old_text.splitlines()[0]  # same columns
    for line in old_text.splitlines():
        if line.startswith((f"{A100},westus2,", f"{ND96},eastus,", f"{NV36},eastus,")):
            assert line in new_text.splitlines()  # untouched rows written back verbatim

    assert [r.key for r in report.added] == [
        (A100, "eastus", "reserved-3y"), (A100, "eastus", "savings-1y"),
        (A100, "eastus", "savings-3y"), (A100, "westeurope", "spot"),
        (A100, "westeurope", "savings-1y"), (A100, "westeurope", "savings-3y"),
        (T4, "eastus", "spot"), (T4, "eastus", "savings-1y"), (T4, "eastus", "savings-3y"),
    ]
    assert [r.key for r in report.removed] == [(H100, "eastus", "spot")]
    assert [r.key for r in report.filled] == [(A100, "eastus", "reserved-1y")]
    assert [(m.new.key, round(m.change * 100, 1)) for m in report.moved] == [
        ((A100, "eastus", "spot"), 11.1), ((H100, "eastus", "payg"), 5.3),
    ]
    assert [d.key for d in report.duplicates] == [(H100, "eastus", "payg")]
    assert report.rows_written == len(rows) == 18
    assert list(snapshot.parent.iterdir()) == [snapshot]  # no temp file left behind

    lines = ap.report_lines(report)
    assert f"price: {A100} eastus spot 0.4 -> 0.444433 USD/h (+11.1%)" in lines
    assert f"removed: {H100} eastus spot (was 1.745 USD/h)" in lines
    assert f"filled: {A100} eastus reserved-1y 2.204 USD/h (was missing)" in lines


def test_429_with_retry_after_is_retried_after_that_many_seconds(
    api: FakeApi, snapshot: Path
) -> None:
    api.expect(
        first_page_query("westeurope"),
        Reply(status=429, headers={"Retry-After": "7"}, body=b'{"error": "slow down"}'),
        api.page("westeurope_page1.json"),
    )
    sleeps: list[float] = []
    report = refresh(api, snapshot, sleeps, regions=["westeurope"])
    assert sleeps == [7.0]
    assert len(api.requests) == 2
    assert report.items == 3
    assert prices_by_key(snapshot)[(A100, "westeurope", "payg")].price_per_hour == 3.70


def test_500_on_a_later_page_exhausts_retries_and_writes_nothing(
    api: FakeApi, snapshot: Path
) -> None:
    before = snapshot.read_bytes()
    page1, page2, _ = eastus_chain(api)
    api.expect_chain(first_page_query("eastus"), page1, page2)
    link = json.loads(page1.body)["NextPageLink"]
    api.routes[ap_route(link)] = deque(Reply(status=500, body=b"oops") for _ in range(4))
    sleeps: list[float] = []
    with pytest.raises(ap.PriceApiHttpError, match=r"HTTP 500.*gave up after 4 attempts") as info:
        refresh(api, snapshot, sleeps, max_retries=3)
    assert info.value.status == 500
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(api.requests) == 5  # page 1, then page 2 four times
    assert snapshot.read_bytes() == before
    assert list(snapshot.parent.iterdir()) == [snapshot]


def ap_route(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    return route_key(parts.path, parts.query)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>Service Unavailable</html>", "not valid JSON"),
        (b'{"BillingCurrency": "USD", "Items": [{"currencyCode": "USD"', "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"BillingCurrency": "USD", "NextPageLink": null, "Count": 0}', "no 'Items'"),
        (b'{"Items": {"a": 1}, "NextPageLink": null}', "not a list"),
        (b'{"Items": [], "NextPageLink": 5}', "NextPageLink"),
        (b'{"Items": [], "NextPageLink": null, "Count": 3}', "'Count' is 3"),
    ],
    ids=["html", "truncated-json", "array", "no-items", "items-object", "bad-link", "bad-count"],
)
def test_malformed_body_fails_without_retry(
    api: FakeApi, snapshot: Path, body: bytes, message: str
) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("eastus"), Reply(body=body))
    sleeps: list[float] = []
    with pytest.raises(ap.PriceApiResponseError, match=message):
        refresh(api, snapshot, sleeps)
    assert sleeps == [] and len(api.requests) == 1
    assert snapshot.read_bytes() == before


def test_truncated_body_is_retried_then_reported(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    page = api.page("westeurope_page1.json")
    cut = Reply(body=page.body, cut_at=len(page.body) // 2)
    api.expect(first_page_query("westeurope"), cut, cut)
    sleeps: list[float] = []
    with pytest.raises(ap.PriceApiConnectionError, match="gave up after 2 attempts"):
        refresh(api, snapshot, sleeps, regions=["westeurope"], max_retries=1)
    assert sleeps == [1.0]
    assert snapshot.read_bytes() == before


def test_connection_reset_is_retried_then_reported(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("westeurope"), Reply(reset=True), Reply(reset=True))
    sleeps: list[float] = []
    with pytest.raises(ap.PriceApiConnectionError, match="gave up after 2 attempts"):
        refresh(api, snapshot, sleeps, regions=["westeurope"], max_retries=1)
    assert sleeps == [1.0]
    assert snapshot.read_bytes() == before
    assert not list(snapshot.parent.glob("*.tmp*"))


def test_connection_reset_then_success(api: FakeApi, snapshot: Path) -> None:
    api.expect(first_page_query("westeurope"), Reply(reset=True),
               api.page("westeurope_page1.json"))
    sleeps: list[float] = []
    report = refresh(api, snapshot, sleeps, regions=["westeurope"])
    assert sleeps == [1.0] and report.pages == 1


def test_http_400_is_not_retried(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("eastus"),
               Reply(status=400, body=b'{"Error": "Invalid filter\\n near armSkuName"}'))
    with pytest.raises(ap.PriceApiHttpError, match="HTTP 400") as info:
        refresh(api, snapshot)
    assert info.value.status == 400 and "\n" not in str(info.value)
    assert len(api.requests) == 1
    assert snapshot.read_bytes() == before


def test_redirect_is_refused(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("eastus"),
               Reply(status=302, headers={"Location": "http://elsewhere.invalid/x"}))
    with pytest.raises(ap.PriceApiHttpError, match="redirect"):
        refresh(api, snapshot)
    assert snapshot.read_bytes() == before


def test_empty_result_is_an_error_and_keeps_the_snapshot(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("eastus"), api.page("empty_page.json"))
    with pytest.raises(ap.EmptyPriceResultError, match=r"no items.*left unchanged"):
        refresh(api, snapshot)
    assert snapshot.read_bytes() == before


def test_items_without_any_linux_price_are_an_error(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    items = recorded_items("westeurope_page1.json")
    windows_only = [i for i in items if "Windows" in i["productName"]]
    api.expect(first_page_query("westeurope"),
               api.page("westeurope_page1.json", Items=windows_only, Count=1))
    with pytest.raises(ap.EmptyPriceResultError, match="no Linux VM price"):
        refresh(api, snapshot, regions=["westeurope"])
    assert snapshot.read_bytes() == before


def test_a_region_without_items_keeps_its_rows(api: FakeApi, snapshot: Path) -> None:
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    api.expect(first_page_query("westus2"), api.page("empty_page.json"))
    report = refresh(api, snapshot, regions=["westeurope", "westus2"])
    assert any("westus2: no items" in warning for warning in report.warnings)
    assert prices_by_key(snapshot)[(A100, "westus2", "payg")].price_per_hour == 3.673
    assert report.removed == ()


def test_timeout_is_retried_then_reported(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    slow = Reply(body=api.page("eastus_page1.json").body, delay=5.0)
    api.expect(first_page_query("eastus"), slow, slow)
    sleeps: list[float] = []
    started = time.monotonic()
    with pytest.raises(ap.PriceApiConnectionError, match=r"timed out after 0.2 s"):
        refresh(api, snapshot, sleeps, timeout=0.2, max_retries=1)
    assert time.monotonic() - started < 2.0
    assert sleeps == [1.0] and len(api.requests) == 2
    assert snapshot.read_bytes() == before


def test_page_linking_to_itself_is_refused(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    page1, _, _ = eastus_chain(api)
    link2 = json.loads(page1.body)["NextPageLink"]
    looping = api.page("eastus_page2.json", NextPageLink=link2)
    api.expect_chain(first_page_query("eastus"), page1, looping)
    with pytest.raises(ap.PriceApiPagingError, match="loops back"):
        refresh(api, snapshot)
    assert len(api.requests) == 2
    assert snapshot.read_bytes() == before


def test_duplicate_page_is_refused(api: FakeApi, snapshot: Path) -> None:
    """Page 2 answers with page 1's items under a new link: the paging is broken."""
    before = snapshot.read_bytes()
    page1, page2, _ = eastus_chain(api)
    repeated = api.page("eastus_page1.json",
                        NextPageLink=json.loads(page2.body)["NextPageLink"])
    api.expect_chain(first_page_query("eastus"), page1, repeated)
    with pytest.raises(ap.PriceApiPagingError, match="repeats the items of page 1"):
        refresh(api, snapshot)
    assert len(api.requests) == 2
    assert snapshot.read_bytes() == before


def test_link_to_another_host_is_refused_without_fetching(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    foreign = json.loads(api.page("eastus_page1.json").body)["NextPageLink"].replace(
        api.origin, "http://prices.evil.invalid"
    )
    api.expect(first_page_query("eastus"), api.page("eastus_page1.json", NextPageLink=foreign))
    with pytest.raises(ap.PriceApiPagingError, match=r"prices\.evil\.invalid.*refused"):
        refresh(api, snapshot)
    assert len(api.requests) == 1
    assert snapshot.read_bytes() == before


def test_too_many_pages_is_refused(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    page1, page2, _ = eastus_chain(api)
    api.expect_chain(first_page_query("eastus"), page1, page2)
    with pytest.raises(ap.PriceApiPagingError, match="more than 2 pages"):
        refresh(api, snapshot, max_pages=2)
    assert snapshot.read_bytes() == before


def test_connection_refused_is_reported(snapshot: Path) -> None:
    before = snapshot.read_bytes()
    port = closed_port()
    sleeps: list[float] = []
    with pytest.raises(ap.PriceApiConnectionError, match="connection failed"):
        ap.refresh_snapshot(["eastus"], "USD", f"http://127.0.0.1:{port}/api", snapshot,
                            skus_path=SKUS_CSV, today=TODAY, sleep=sleeps.append, max_retries=2)
    assert sleeps == [1.0, 2.0]
    assert snapshot.read_bytes() == before


def closed_port() -> int:
    """An ephemeral port number on 127.0.0.1 that nothing listens on any more."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_shared_refresh_gives_progress_the_query_count(api: FakeApi, snapshot: Path) -> None:
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    calls: list[tuple[int, int, int]] = []
    result = ap.refresh_outcome(["westeurope"], "USD", api.base_url, snapshot,
                                lambda *totals: calls.append(totals), skus_path=SKUS_CSV,
                                timeout=5.0, dry_run=True)
    assert isinstance(result, ap.RefreshReport) and result.queries == 1
    assert calls == [(1, 3, 1)]


def test_shared_refresh_returns_failures_and_writes_nothing(snapshot: Path) -> None:
    before = snapshot.read_bytes()
    offline = ap.refresh_outcome(["eastus"], "USD", f"http://127.0.0.1:{closed_port()}/api",
                                 snapshot, skus_path=SKUS_CSV, max_retries=0)
    assert isinstance(offline, ap.RefreshFailure) and offline.kind == "offline"
    assert isinstance(offline.error, ap.PriceApiConnectionError)
    refused = ap.refresh_outcome(["East US"], "USD", f"http://127.0.0.1:{closed_port()}/api", snapshot,
                                 lambda *totals: None, skus_path=SKUS_CSV)
    assert isinstance(refused, ap.RefreshFailure) and refused.kind == "bad_response"
    assert snapshot.read_bytes() == before


def test_failure_kinds() -> None:
    assert ap.failure_kind(ap.PriceApiConnectionError("x")) == "offline"
    assert ap.failure_kind(ap.EmptyPriceResultError("x")) == "bad_response"
    assert ap.failure_kind(OSError(errno.EROFS, "Read-only file system")) == "read-only"
    assert ap.failure_kind(OSError(errno.ENOSPC, "No space left on device")) == "unwritable"
    assert ap.failure_kind(ap.SnapshotWriteError("x")) == "invalid"


def test_mixing_currencies_is_refused_before_any_request(api: FakeApi, snapshot: Path) -> None:
    with pytest.raises(ap.PriceQueryError, match="holds USD prices"):
        refresh(api, snapshot, currency="EUR")
    assert api.requests == []


def test_unknown_sku_is_refused(api: FakeApi, snapshot: Path) -> None:
    with pytest.raises(ap.PriceQueryError, match="Standard_E64_v4"):
        refresh(api, snapshot, skus=["Standard_E64_v4"])
    assert api.requests == []


def test_no_regions_for_a_new_file_is_refused(api: FakeApi, tmp_path: Path) -> None:
    with pytest.raises(ap.PriceQueryError, match="pass regions"):
        refresh(api, tmp_path / "new.csv", regions=None)


def test_refresh_into_a_new_file_uses_default_columns(api: FakeApi, tmp_path: Path) -> None:
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    out = tmp_path / "new.csv"
    report = refresh(api, out, regions=["westeurope"])
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(PriceRow.model_fields)
    assert len(report.added) == 4 and len(load_rows(out, PriceRow)) == 4


def test_price_type_limits_the_refreshed_plans(api: FakeApi, snapshot: Path) -> None:
    query = first_page_query("eastus")
    query["$filter"] += " and priceType eq 'Reservation'"
    reservations = recorded_items("eastus_page2.json")[:2]
    api.expect(query, api.page("eastus_page2.json", Items=reservations, Count=2, NextPageLink=None))
    report = refresh(api, snapshot, price_type="Reservation")
    assert report.removed == ()  # payg/spot rows were out of scope, so none is "removed"
    assert {r.key[2] for r in report.added} | {r.key[2] for r in report.filled} == {
        "reserved-1y", "reserved-3y"}
    assert prices_by_key(snapshot)[(H100, "eastus", "spot")].price_per_hour == 1.745


def test_dry_run_reports_but_writes_nothing(api: FakeApi, snapshot: Path) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    report = refresh(api, snapshot, regions=["westeurope"], dry_run=True)
    assert not report.written and len(report.added) == 3
    assert snapshot.read_bytes() == before


# ------------------------------------------------------------------------------------------------
# Snapshot writing and status


def test_atomic_write_refuses_when_the_file_changed_meanwhile(snapshot: Path) -> None:
    before = snapshot.read_bytes()
    text = before.decode()
    with pytest.raises(ap.SnapshotWriteError, match="changed while refreshing"):
        ap.write_snapshot_atomic(snapshot, text, expected_old=b"something else")
    assert snapshot.read_bytes() == before
    assert list(snapshot.parent.iterdir()) == [snapshot]


def test_atomic_write_validates_before_replacing(snapshot: Path) -> None:
    before = snapshot.read_bytes()
    with pytest.raises(PlannerError):
        ap.write_snapshot_atomic(snapshot, "sku,region\nnot-a-sku,eastus\n")
    assert snapshot.read_bytes() == before
    assert list(snapshot.parent.iterdir()) == [snapshot]


def test_atomic_write_keeps_permissions(snapshot: Path) -> None:
    os.chmod(snapshot, 0o640)
    ap.write_snapshot_atomic(snapshot, snapshot.read_text(encoding="utf-8"))
    assert snapshot.stat().st_mode & 0o777 == 0o640


def test_row_to_csv_round_trips_exact_prices() -> None:
    row = PriceRow(sku=A100, region="eastus", plan="reserved-1y", currency="USD",
                   price_per_hour=19307.0 / 8760, status="quoted", source="s", as_of=TODAY,
                   unconfirmed=("meter_id", "notes"))
    text = ap.render_snapshot(ap.DEFAULT_COLUMNS, [row])
    parsed = next(csv.DictReader(io.StringIO(text)))
    assert float(parsed["price_per_hour"]) == 19307.0 / 8760
    assert parsed["unconfirmed"] == "meter_id;notes" and parsed["effective_start_date"] == ""


def test_snapshot_status_and_age(snapshot: Path) -> None:
    assert ap.snapshot_age_days(snapshot, dt.date(2025, 6, 11)) == 10
    status = ap.snapshot_status(snapshot, dt.date(2025, 6, 11))
    assert status.rows == 10
    assert status.newest_as_of == dt.date(2025, 6, 1)
    assert status.by_status == {"quoted": 7, "missing": 2, "estimated": 1}
    assert status.regions == ("eastus", "westeurope", "westus2")
    assert status.oldest_price_as_of == dt.date(2025, 5, 20)
    assert status.oldest_price_age_days == 22
    # 7 (size, region) pairs in the fixture; pay-as-you-go priced for 6 (the ND96 row is missing;
    # the A10 row is estimated, which has a price), spot for 2, the reservation for none
    assert status.coverage["payg"] == {"pairs": 7, "priced": 6, "quoted": 5, "estimated": 1,
                                       "missing": 1, "share": 6 / 7}
    assert status.coverage["spot"]["priced"] == 2 and status.coverage["reserved-1y"]["priced"] == 0
    assert status.by_plan_region["payg"]["eastus"] == {"quoted": 3, "missing": 1, "estimated": 1}
    assert status.by_plan_region["reserved-1y"] == {"eastus": {"missing": 1}}


def test_snapshot_age_of_a_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(PlannerError, match="file not found"):
        ap.snapshot_age_days(tmp_path / "nope.csv", TODAY)


def test_cli_status(snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["prices", "status", "--file", str(snapshot)]) == 0
    out = capsys.readouterr().out
    age = (dt.date.today() - dt.date(2025, 6, 1)).days
    assert "rows: 10 (estimated 1, missing 2, quoted 7)" in out
    assert "newest as_of: 2025-06-01" in out
    assert f"age: {age} days (of the newest row" in out
    assert f"oldest priced row as_of: 2025-05-20 ({age + 12} days old)" in out
    assert ("coverage payg: 6 of 7 size x region pairs priced (86%; quoted 5, estimated 1, "
            "missing 1)") in out
    assert cli_main(["prices", "status", "--file", str(snapshot), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["oldest_price_as_of"] == "2025-05-20" and data["coverage"]["payg"]["priced"] == 6


# ------------------------------------------------------------------------------------------------
# CLI end to end (subprocess)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "planner", "prices", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(SKUS_CSV, folder / "azure_skus.csv")
    return folder


def test_cli_refresh_end_to_end(api: FakeApi, snapshot: Path, data_dir: Path) -> None:
    api.expect_chain(first_page_query("eastus"), *eastus_chain(api))
    api.expect(first_page_query("westeurope"), api.page("westeurope_page1.json"))
    api.expect(first_page_query("westus2"), api.page("empty_page.json"))

    done = run_cli("refresh", "--base-url", api.base_url, "--out", str(snapshot),
                   "--data-dir", str(data_dir), "--timeout", "5")

    assert done.returncode == 0, done.stderr
    assert "page 3 fetched, 14 item(s)" in done.stderr
    out = done.stdout.splitlines()
    assert out[0] == ("fetched 5 page(s), 17 item(s) from 3 query(ies): 15 price row(s) for 5 "
                      "SKU(s) in eastus, westeurope, westus2")
    assert f"new: {T4} eastus spot 0.062699 USD/h" in out
    assert f"filled: {A100} eastus reserved-1y 2.204 USD/h (was missing)" in out
    assert f"removed: {H100} eastus spot (was 1.745 USD/h)" in out
    assert f"price: {A100} eastus spot 0.4 -> 0.444433 USD/h (+11.1%)" in out
    assert f"price: {H100} eastus payg 6.98 -> 7.35 USD/h (+5.3%)" in out
    assert sum(line.startswith("new: ") for line in out) == 9
    assert sum(line.startswith("price: ") for line in out) == 2  # westeurope +0.8% not listed
    duplicate = f"duplicate: {H100} eastus payg kept meter h100eus0-0000-4000-8000-000000000002"
    assert any(line.startswith(duplicate) for line in out)
    assert any("westus2: no items" in line for line in out)
    assert out[-1].startswith(f"wrote {snapshot} (18 rows")

    rows = prices_by_key(snapshot)
    assert len(rows) == 18
    assert rows[(A100, "eastus", "reserved-3y")].price_per_hour == 37230.0 / 26280
    assert rows[(A100, "westus2", "payg")].as_of == dt.date(2025, 5, 20)
    today = dt.date.today()
    assert rows[(A100, "eastus", "payg")].as_of in {today, today - dt.timedelta(days=1)}


def test_cli_refresh_failure_exits_non_zero_and_keeps_file(
    api: FakeApi, snapshot: Path, data_dir: Path
) -> None:
    before = snapshot.read_bytes()
    api.expect(first_page_query("eastus"), Reply(body=b'{"Items": [', status=200))
    done = run_cli("refresh", "--base-url", api.base_url, "--out", str(snapshot),
                   "--data-dir", str(data_dir), "--regions", "eastus", "--quiet")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: eastus: response is not valid JSON")
    assert done.stderr.rstrip().endswith(f"[nothing written; {snapshot} unchanged]")
    assert snapshot.read_bytes() == before
    assert sorted(p.name for p in snapshot.parent.iterdir()) == [snapshot.name]


def test_cli_rejects_bad_timeout(snapshot: Path) -> None:
    with pytest.raises(SystemExit):
        cli_main(["prices", "refresh", "--out", str(snapshot), "--timeout", "0"])


def test_cli_default_base_url_matches_the_module() -> None:
    from planner.cli import build_parser

    args = build_parser().parse_args(["prices", "refresh"])
    assert args.base_url == ap.DEFAULT_BASE_URL


def test_price_api_errors_are_planner_errors() -> None:
    for error in (ap.PriceQueryError, ap.PriceApiHttpError, ap.PriceApiConnectionError,
                  ap.PriceApiResponseError, ap.PriceApiPagingError, ap.EmptyPriceResultError):
        assert issubclass(error, PriceApiError)


def _price(sku: str, region: str, plan: str, price: float, source: str) -> PriceRow:
    return PriceRow(sku=sku, region=region, plan=plan, currency="USD", price_per_hour=price,
                    status="quoted", source=source, as_of=TODAY)


def test_a_returned_key_outside_the_queried_scope_replaces_its_row_never_duplicates() -> None:
    """A page can carry items of a size another query group asked for (found when the catalog
    grew past one group of sizes): the refreshed price replaces the old row, once."""
    old = [_price("Standard_NC40ads_H100_v5", "eastus", "payg", 6.98, "old"),
           _price("Standard_NC24ads_A100_v4", "eastus", "payg", 3.673, "old")]
    raw = [row_to_csv(row) for row in old]
    fresh = [_price("Standard_NC40ads_H100_v5", "eastus", "payg", 7.35, "api")]
    merged = ap.merge_snapshot(old, raw, fresh, scope={("Standard_NC24ads_A100_v4", "eastus")},
                               plans=["payg"])
    keys = [(e.key if isinstance(e, PriceRow) else (e["sku"], e["region"], e["plan"]))
            for e in merged.entries]
    assert keys.count(("Standard_NC40ads_H100_v5", "eastus", "payg")) == 1
    [h100] = [e for e in merged.entries if isinstance(e, PriceRow)]
    assert h100.price_per_hour == 7.35 and not merged.added


def test_a_next_page_link_read_differently_by_requests_is_refused() -> None:
    """Hardening finding 1: urllib.parse reads ``http://127.0.0.1:B\\@127.0.0.1:A/`` as host
    127.0.0.1 port A, while requests/urllib3 send it to port B. Such links (backslash, userinfo)
    are refused, and an accepted link is rebuilt on the base URL's own origin."""
    base = "http://127.0.0.1:8080/api/retail/prices"
    trick = "http://127.0.0.1:9999\\@127.0.0.1:8080/api/retail/prices?$skip=100"
    assert not ap.same_origin(trick, base)
    with pytest.raises(ap.PriceApiPagingError, match="refused"):
        ap.next_page_url(trick, base, base)
    for link in ("http://user@127.0.0.1:8080/api?x=1", "http://127.0.0.1:8080 /api",
                 "//127.0.0.1:9999/api", "http://127.0.0.1:8080\t@evil/api"):
        with pytest.raises(ap.PriceApiPagingError):
            ap.next_page_url(link, base, base)
    ok = ap.next_page_url("/api/retail/prices?$skip=100&currencyCode='USD'", base, base)
    assert ok == "http://127.0.0.1:8080/api/retail/prices?$skip=100&currencyCode='USD'"


@given(st.text(max_size=80))
@settings(max_examples=400, deadline=None)
def test_any_next_page_link_either_stays_on_the_base_origin_or_is_refused(link: str) -> None:
    """Property: whatever the link, the URL the client would request is on the base's scheme,
    host and port as urllib3 (the parser requests sends with) reads it."""
    from urllib3.util import parse_url

    base = "http://127.0.0.1:8080/api/retail/prices"
    try:
        url = ap.next_page_url(link, base + "?$skip=0", base)
    except ap.PriceApiPagingError:
        return
    parts = parse_url(url)
    assert (parts.scheme, parts.host, parts.port) == ("http", "127.0.0.1", 8080)


@pytest.mark.parametrize(("change", "why"), [
    ({"retailPrice": 1e308}, "implausible hourly price"),
    ({"unitOfMeasure": "0.0000000000000000000000001 Hours"}, "is not hours"),
    ({"unitOfMeasure": "1.5 Hours"}, "is not hours"),
    ({"retailPrice": 1e-9}, "implausible hourly price"),
])
def test_absurd_prices_and_units_are_refused_never_written(change: dict, why: str) -> None:
    """Hardening finding 3: retailPrice 1e308, or a unit of '0.00...01 Hours' (3e25 $/h), was
    accepted and written; both are now refused with the reason counted as skipped."""
    # the Linux pay-as-you-go meter of the recorded dump (0.673 / 1 Hour)
    payg = next(i for i in recorded_items("b16als_v2_australiacentral.json")
                if i["type"] == "Consumption" and i["skuName"] == "B16als v2"
                and i["productName"] == "Virtual Machines Basv2 Series")
    rows, reason = ap.item_rows(ap.RetailItem.model_validate({**payg, **change}), as_of=TODAY,
                                source="test")
    assert rows == [] and why in (reason or "")
    assert ap.item_rows(ap.RetailItem.model_validate(payg), as_of=TODAY, source="test")[0]
