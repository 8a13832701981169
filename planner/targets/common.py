"""Pieces the target modules share."""

from __future__ import annotations

from pydantic import ConfigDict

from planner.catalog import Catalog

STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


def self_hosted_problems(model_id: str, catalog: Catalog, where: str) -> list[str]:
    """The model must be an open-weights model of the catalog."""
    if model_id in catalog.models:
        return []
    hint = " (an API-only model: use target kind 'api')" if model_id in catalog.api_models else ""
    return [f"{where}.model: unknown model {model_id!r}{hint}"]
