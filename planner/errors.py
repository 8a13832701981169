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
