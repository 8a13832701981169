"""Text for people: money, quantities and the one-sentence answer per deployment.

Pure functions (no streamlit), so they are tested directly.
"""

from __future__ import annotations

import datetime as dt
import re

from planner.api import (
    Catalog,
    Deployment,
    DeploymentPlan,
    FindingCode,
    PlanResult,
    Scenario,
    describe_target,
    finding_text,
    fit_text,
    is_self_hosted,
    missing_reason_text,
)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


_CURRENCY = {"code": "USD"}  # the price snapshot's currency, set once by app.py


def set_currency(code: str) -> None:
    """Show every amount in ``code`` (the price snapshot's currency, from planner.api)."""
    _CURRENCY["code"] = code


def currency_code() -> str:
    """The ISO code amounts are shown in."""
    return _CURRENCY["code"]


def _symbol() -> str:
    code = _CURRENCY["code"]
    return "$" if code == "USD" else f"{code}\u00a0"


def cur(label: str) -> str:
    """A label naming the currency (``Monthly cost (USD)``) in the snapshot's currency."""
    return label.replace("USD", _CURRENCY["code"])


def money_fmt(fmt: str) -> str:
    """A table column's number format in the snapshot's currency: ``dollar`` and ``$%.3f`` stay
    as they are for USD and become ``EUR %,.0f`` / ``EUR %.3f`` for another currency."""
    code = _CURRENCY["code"]
    if code == "USD":
        return fmt
    return f"{code} %,.0f" if fmt == "dollar" else fmt.replace("$", f"{code} ")


def tick_fmt(fmt: str) -> dict[str, str]:
    """Plotly axis settings for money: ``$``-formats for USD, else a plain format with the code
    as prefix."""
    code = _CURRENCY["code"]
    if code == "USD":
        return {"tickformat": fmt}
    return {"tickformat": fmt.replace("$", ""), "tickprefix": f"{code} "}


def usd(value: float | None, *, per: str = "") -> str:
    """$5,601 for large sums, $4.60 for small ones, $0.0123 below a dollar; '—' for None.
    In a snapshot of another currency the code leads (``EUR 5,601``)."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    sym = _symbol()
    v = abs(value)
    if v >= 100:
        text = f"{sign}{sym}{v:,.0f}"
    elif v >= 1:
        text = f"{sign}{sym}{v:,.2f}"
    elif v == 0:
        text = f"{sym}0"
    else:
        text = f"{sign}{sym}{v:.3g}"
    return f"{text}{per}"


def usd_range(span: list[float] | None, *, per: str = "/month") -> str:
    """'$5,100-6,400/month' for a [low, high] range, one figure when they are equal, '—' for
    None."""
    if not span:
        return "—"
    low, high = span
    if usd(low) == usd(high):
        return usd(low) + per
    return f"{usd(low)}-{usd(high).removeprefix(_symbol())}{per}"


def md_usd(value: float | None, *, per: str = "") -> str:
    """:func:`usd` for Markdown, where a bare $ would start LaTeX."""
    return usd(value, per=per).replace("$", "\\$")


def number(value: float | None, digits: int = 0) -> str:
    """Thousands-separated number, '—' for None."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def compact(value: float) -> str:
    """1.2M, 35k, 800: traffic figures in running text."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.3g}{suffix}" if scaled < 100 else f"{scaled:,.0f}{suffix}"
    return f"{value:.3g}"


def percent(fraction: float | None, digits: int = 0) -> str:
    return "—" if fraction is None else f"{fraction * 100:.{digits}f} %"


def target_text(dep: Deployment, plan: DeploymentPlan, catalog: Catalog) -> str:
    """'2 × Standard_NC24ads_A100_v4 (eastus, pay-as-you-go)', '2 × Workstation … (eastus)', or
    the API."""
    count = f"{plan.nodes} × " if plan.nodes else ""
    return f"{count}{describe_target(dep, catalog)}"


def missing_prices(plan: DeploymentPlan) -> list[str]:
    """'Hardware (…) (no price in the reference data …)' for every cost line without a price."""
    return [f"{line.name} ({missing_reason_text(line.missing_reason)})"
            for line in plan.cost_lines if line.amount_usd is None]


def slo_problem(plan: DeploymentPlan) -> str | None:
    """Why the option misses its SLOs, in words (None when it meets them)."""
    unmet = next((f for f in plan.findings if f.code == FindingCode.SLO_UNMET), None)
    return finding_text(unmet) if unmet is not None else None


def status_text(plan: DeploymentPlan) -> str:
    """One word or phrase for tables: ok / cheapest / does not fit / price missing / SLO unmet."""
    if not plan.fits:
        return "does not fit"
    if plan.monthly_cost_usd is None:
        return "price missing"
    if slo_problem(plan):
        return "SLO unmet"
    return "ok (estimated price)" if rests_on_estimate(plan) else "ok"


def rests_on_estimate(plan: DeploymentPlan) -> bool:
    """True if any of the plan's cost lines is priced from an estimate (a derived reservation,
    a component-estimated machine, a converted tariff)."""
    return any(line.status == "estimated" for line in plan.cost_lines)


def headline(dep: Deployment, plan: DeploymentPlan, catalog: Catalog, cheapest: bool) -> str:
    """The answer for one deployment, in one sentence of Markdown.

    'SLM — phi-3-mini-4k on 2 × Standard_NC24ads_A100_v4 (eastus, pay-as-you-go): $5,601/month,
    $4.60 per 1M output tokens'. Missing prices read 'price missing: …', never $0.
    """
    where = target_text(dep, plan, catalog)
    if is_self_hosted(dep.target):
        lead = f"**{_md(plan.label)}** — {_md(dep.model)} on {_md(where)}"
    else:
        lead = f"**{_md(plan.label)}** — {_md(plan.model_name)} via {_md(where)}"
    if not plan.fits:
        return f"{lead}: does not fit: {_md(fit_text(plan))}"
    if plan.monthly_cost_usd is None:
        known = plan.monthly_cost_known_usd
        tail = f" (known costs so far {md_usd(known)}/month)" if known else ""
        return f"{lead}: price missing: {_md('; '.join(missing_prices(plan)))}{tail}"
    text = (f"{lead}: **{md_usd(plan.monthly_cost_usd)}/month**, "
            f"{md_usd(plan.cost_per_million_output_tokens_usd)} per 1M output tokens")
    problem = slo_problem(plan)
    if problem:
        text += f" — SLO unmet: {_md(problem)}"
    if rests_on_estimate(plan):
        text += " :orange-badge[rests on an estimated price]"
    if cheapest:
        text += " :green-badge[cheapest]"
    return text


def escape_md(text: str) -> str:
    """Escape what Streamlit Markdown would interpret in user-typed or catalog text: Markdown
    punctuation, ``$`` (LaTeX) and ``:`` (emoji and colour directives)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


_md = escape_md


def workload_text(scenario: Scenario) -> str:
    w = scenario.workload
    growth = f", growing {w.monthly_growth * 100:+.3g} %/month" if w.monthly_growth else ""
    return (f"{number(w.requests_per_day)} requests/day ({number(w.input_tokens)} input + "
            f"{number(w.output_tokens)} output tokens each), peak {w.peak_to_average:g}× average, "
            f"SLOs: first token ≤ {w.ttft_slo_ms:,.0f} ms, ≤ {w.tpot_slo_ms:,.0f} ms per output "
            f"token{growth}")


def cheapest_text(result: PlanResult) -> str:
    if result.cheapest_label is None:
        return ("No option has a complete price and meets the SLOs: see the warnings below each "
                "deployment.")
    return f"Cheapest that fits, is fully priced and meets the SLOs: **{_md(result.cheapest_label)}**."


def accuracy_text(accuracy: dict | None) -> tuple[str, float | None]:
    """The throughput model's stated error as a phrase, and the median error to use for ranges
    (None until the model is calibrated against measurements). The cross-validated figure (each
    publication predicted from a fit on the others) is the honest one for a new setup, so it is
    the one used when present; the in-sample figure is quoted beside it."""
    if not accuracy or accuracy.get("median_ape") is None:
        return ("throughput model not yet calibrated against measurements: treat throughput "
                "figures as a roofline estimate (such estimates are often 1.4–2× off)", None)
    n = accuracy.get("n", "?")
    fit = float(accuracy["median_ape"])
    cv = accuracy.get("cv_median_ape")
    if cv is None:
        return f"±{fit:.0%} median error against {n} published measurements", fit
    cv = float(cv)
    return (f"±{cv:.0%} median error against {n} published measurements (cross-validated; "
            f"{fit:.0%} on the fitted data)", cv)


def quality_text(mmlu: float | None, mmlu_pro: float | None) -> str:
    """'MMLU 68.1 · MMLU-Pro 52.8', or what is missing, for labels."""
    parts = [f"MMLU {mmlu:g}" if mmlu is not None else "no MMLU"]
    if mmlu_pro is not None:
        parts.append(f"MMLU-Pro {mmlu_pro:g}")
    return " · ".join(parts)


STALE_DAYS = 90  # prices older than this are warned next to the numbers they affect


def price_dates_text(result: PlanResult) -> str:
    """The snapshot's oldest and newest price dates, each named as what it is."""
    oldest, newest = result.oldest_price_date, result.newest_price_date
    if oldest is None:
        return "Azure prices: the snapshot has no priced rows. See the Catalog page."
    span = (f"dated {oldest}" if oldest == newest
            else f"oldest price dated {oldest}, newest {newest}")
    return (f"Azure prices: retail snapshot ({currency_code()}), {span}. See the Catalog page "
            "for every price and its source.")


def age_days(date: dt.date, today: dt.date) -> int:
    """Whole days from ``date`` to ``today``."""
    return (today - date).days


def stale_price_dates(plan: DeploymentPlan, today: dt.date | None = None,
                      days: int = STALE_DAYS) -> list[dt.date]:
    """The dates of the prices this option uses that are older than ``days`` (oldest first)."""
    today = today or dt.date.today()
    dates = {line.price_as_of for line in plan.cost_lines if line.price_as_of is not None}
    return sorted(d for d in dates if age_days(d, today) > days)


def stale_price_text(plan: DeploymentPlan, today: dt.date | None = None) -> str | None:
    """'prices dated 2024-08-18 are more than 90 days old: …' for the option, or None."""
    dates = stale_price_dates(plan, today)
    if not dates:
        return None
    today = today or dt.date.today()
    lines = [line.name for line in plan.cost_lines
             if line.price_as_of is not None and line.price_as_of in dates]
    age = age_days(dates[0], today)
    return (f"{'price' if len(lines) == 1 else 'prices'} of {', '.join(lines)} dated "
            f"{dates[0]}{' or later' if len(dates) > 1 else ''}: {age:,} days old, over "
            f"{STALE_DAYS}; prices move, check them before you commit")


def stale_price_short(plan: DeploymentPlan, today: dt.date | None = None) -> str | None:
    """'prices from 2024-08-18, 835 days old' for a card, or None when every price is recent."""
    dates = stale_price_dates(plan, today)
    if not dates:
        return None
    age = age_days(dates[0], today or dt.date.today())
    return f"prices from {dates[0]}, {age:,} days old (over {STALE_DAYS}): check before committing"


FIRST_VISIT_TEXT = ("This page answers what each option would cost a month to serve your "
                    "traffic, and which is cheapest that meets your speed targets. The sidebar "
                    "holds an example scenario: edit it, or load your own.")
