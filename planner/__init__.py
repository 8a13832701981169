"""planner: cost and capacity planning for language-model deployments."""

__version__ = "0.1.0"
