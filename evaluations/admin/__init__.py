"""Admin of the evaluations app, one module per area (imported here so they register)."""

from evaluations.admin import judging, measurement

__all__ = ["judging", "measurement"]
