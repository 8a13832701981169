"""Quality of a model at the precision it is served: the 16-bit scores where the weights are as
the vendor ships them, a published evaluation where one exists for a lower precision, else
unknown (never the 16-bit score passed off as the quantised one)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.catalog import Catalog, ModelSpec

# weight formats vendors ship, and the serving precision that keeps them as shipped
SHIPPED_PRECISION = {"mxfp4-experts": "mxfp4", "fp8-block": "fp8"}
SIXTEEN_BIT = ("fp16", "bf16")


@dataclass(frozen=True)
class QualityAt:
    """Benchmark scores (percent) at a serving precision; None where not measured."""

    mmlu_5shot: float | None
    mmlu_pro: float | None
    measured: bool  # the scores describe this precision (as shipped, or a published evaluation)
    source: str = ""


def as_shipped(model: ModelSpec, precision: str) -> bool:
    """Whether ``precision`` serves the weights the vendor published (where its scores apply)."""
    return precision in SIXTEEN_BIT or precision == SHIPPED_PRECISION.get(model.weight_format)


def quality_at(catalog: Catalog, model_id: str, precision: str) -> QualityAt:
    """The model's scores at ``precision`` (see the module docstring)."""
    model = catalog.models[model_id]
    if as_shipped(model, precision):
        return QualityAt(model.mmlu_5shot, model.mmlu_pro, True, model.mmlu_source)
    row = catalog.quality_by_precision.get((model_id, precision))
    if row is not None:
        return QualityAt(row.mmlu_5shot, None, True, row.source)
    return QualityAt(None, None, False)
