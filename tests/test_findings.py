"""Findings and the other closed codes: every code is declared, carries its values and has words."""

from typing import get_args

import pytest

from planner.analyses.advisor import RejectReason
from planner.findings import CODES, CodeSpec, Finding, FindingCode, finding
from planner.io.wording import (
    BATCH_LIMIT_TEXT,
    FINDING_TEXT,
    MISSING_REASON_TEXT,
    REJECT_TEXT,
    finding_text,
    findings_text,
    missing_reason_text,
)
from planner.physics.throughput import BatchLimit
from planner.pricing.resolver import MissingReason


def test_every_code_has_a_spec_and_words():
    assert set(CODES) == set(FindingCode)
    assert set(FINDING_TEXT) == set(FindingCode)
    for code in FindingCode:
        spec = CODES[code]
        assert isinstance(spec, CodeSpec)
        assert spec.severity in ("info", "warning", "critical")
        assert len(set(spec.values)) == len(spec.values), code


@pytest.mark.parametrize("placeholder", [1, 2.5, "x", 0])
@pytest.mark.parametrize("code", list(FindingCode))
def test_every_code_can_be_worded(code, placeholder):
    f = finding(code, **{key: placeholder for key in CODES[code].values})
    assert f.code == code and f.severity == CODES[code].severity
    assert set(f.values) == set(CODES[code].values)
    text = finding_text(f)
    assert isinstance(text, str) and text.strip()
    assert findings_text([f]) == [text]


def test_finding_refuses_wrong_value_keys():
    keys = CODES[FindingCode.SKU_RETIRED].values
    assert keys == ("sku",)
    assert finding(FindingCode.SKU_RETIRED, sku="Standard_NC6").values == {"sku": "Standard_NC6"}
    with pytest.raises(TypeError, match="takes values"):
        finding(FindingCode.SKU_RETIRED)  # missing
    with pytest.raises(TypeError, match="takes values"):
        finding(FindingCode.SKU_RETIRED, sku="a", gpu="b")  # extra
    with pytest.raises(TypeError, match="takes values"):
        finding(FindingCode.SKU_RETIRED, vm="a")  # misnamed
    with pytest.raises(TypeError, match="takes values"):
        finding(FindingCode.SPOT_EVICTION, region="eastus")  # takes none


def test_findings_keep_status_and_source():
    f = finding(FindingCode.PRICE_MISSING, status="catalog", source="snapshot", line="GPU nodes",
                price_key="k", reason="no_row")
    assert isinstance(f, Finding) and f.status == "catalog" and f.source == "snapshot"
    assert f.severity == "critical"
    assert finding_text(f) == "price missing: GPU nodes (no row in the price snapshot)"


def test_every_reject_reason_has_words():
    assert set(REJECT_TEXT) == set(get_args(RejectReason))
    assert all(text.strip() for text in REJECT_TEXT.values())


def test_every_batch_limit_has_words():
    assert set(BATCH_LIMIT_TEXT) == set(get_args(BatchLimit))
    assert all(text.strip() for text in BATCH_LIMIT_TEXT.values())


def test_every_missing_reason_has_words():
    assert set(MISSING_REASON_TEXT) == set(get_args(MissingReason))
    for reason in get_args(MissingReason):
        assert missing_reason_text(reason) == MISSING_REASON_TEXT[reason]
        assert MISSING_REASON_TEXT[reason].strip()
