"""Exceptions shared by every backend, so callers (rules, plugin, web) handle one set whatever the store."""


class BackendError(Exception):
    """The store could not be used: unreachable, locked, corrupt, or a query failed.

    The alerting core turns this into UNKNOWN; it is never a reason to report OK.
    """


class UnknownMeasurementError(ValueError):
    """A read or write named a measurement that has no registered schema (the web API answers 404)."""
