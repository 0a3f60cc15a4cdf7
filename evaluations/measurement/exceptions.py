"""Domain errors of service measurement (``staff.exceptions.DomainError`` subclasses)."""

from staff.exceptions import DomainError


class MeasurementError(DomainError):
    """A refusal by a service-measurement rule; ``code`` is stable, the message translated."""


class KpiImportError(MeasurementError):
    """The KPI file as a whole cannot be read (encoding, format, size, headers)."""
