"""Storage backends behind one interface: every reader is a :class:`.store.Store` (``retrieve_*``, ``schema``,
``interrupt``, ``measurements``, ``close``); the Aggregators add ligo-scald's write calls.

``connect(entry)`` builds the right one from a ``backends:`` config entry; backend modules are imported only when
used, so importing this package stays cheap. Nothing here imports the config layer: callers hand in what they read.
"""
from __future__ import annotations

from .errors import BackendError, UnknownMeasurementError

TYPE_CHECKING = False  # not ``from typing import ...``: the Nagios plugin imports this package
if TYPE_CHECKING:
    from typing import Any, Mapping

    from .store import Store

__all__ = ["BackendError", "UnknownMeasurementError", "connect"]

_SQLITE_KEYS = ("path", "raw_retention", "timeout")


def connect(entry: Mapping[str, Any], readonly: bool = False, lite: bool = False, schemas: Any = None) -> Store:
    """An Aggregator (or, with ``readonly``, a Consumer that never creates anything) for a backend entry.

    ``entry`` is one item of the config's ``backends:`` section, e.g. ``{"backend": "sqlite", "path": FILE}``.
    ``lite`` (with ``readonly``) asks for a reader without numpy, for short-lived processes such as the Nagios
    plugin: it serves what check evaluation reads (raw points and levels >= 10 s), not the 1 s level.
    ``schemas`` (the config's SchemaSpecs) tell an InfluxDB reader the tag order and column_key, which the server
    does not keep; SQLite stores them itself.
    """
    if lite and not readonly:
        raise ValueError("connect(lite=True) is read-only: pass readonly=True")
    kind = entry.get("backend")
    if kind == "sqlite":
        kwargs = {k: entry[k] for k in _SQLITE_KEYS if k in entry and entry[k] is not None}
        if "path" not in kwargs:
            raise ValueError("sqlite backend: 'path' is required")
        if lite:
            from .sqlite_lite import LiteConsumer

            kwargs.pop("raw_retention", None)
            return LiteConsumer(**kwargs)
        from . import sqlite

        if readonly:
            kwargs.pop("raw_retention", None)
            return sqlite.Consumer(**kwargs)
        return sqlite.Aggregator(**kwargs)
    if kind == "influxdb":
        from . import influx

        kwargs = {k: v for k, v in entry.items() if k != "backend" and v is not None}
        if "db" not in kwargs:
            raise ValueError("influxdb backend: 'db' is required")
        if readonly:
            return influx.Consumer(schemas=schemas, **kwargs)
        return influx.Aggregator(schemas=schemas, **kwargs)
    raise ValueError(f"unknown backend kind {kind!r} (expected 'sqlite' or 'influxdb')")
