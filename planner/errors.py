"""Typed errors. User input never meets an ``assert``: it meets one of these, with a clear message."""


class PlannerError(Exception):
    """Base of every error the planner raises on purpose."""


class DataError(PlannerError):
    """A reference table failed validation (message names file, row and field)."""


class ScenarioError(PlannerError):
    """A scenario is invalid (message names the field)."""


class PriceApiError(PlannerError):
    """The Azure Retail Prices API could not be read or returned something unusable."""


class CannotEstimateError(PlannerError):
    """A quantity cannot be estimated from the data (e.g. no published compute peak)."""


class TooManyReplicasError(CannotEstimateError):
    """The workload needs more replicas than the planner sizes (``replicas`` says how many)."""

    def __init__(self, replicas: float, limit: int):
        super().__init__(f"needs about {replicas:.3g} replicas, more than {limit:,}")
        self.replicas, self.limit = replicas, limit
