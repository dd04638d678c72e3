"""Read-only backend connections for the web threads, the translation of backend failures into HTTP answers, and
the one read no store interface covers: the triggers ligo-scald's ``store_triggers`` keeps in InfluxDB.

One Consumer per backend per thread, opened on first use: an SQLite connection is cheap but must not be shared
while a query runs, and an InfluxDB client keeps a connection pool per session. A connection that failed is
dropped, so the next request reopens it (a database file created meanwhile, an influxd restarted).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from ..config import Config, SchemaSpec
from ..io import BackendError, UnknownMeasurementError, connect
from ..io.schema import NAME_RE, Schema
from .errors import ApiError

log = logging.getLogger("scald_monitor.serve")


class Readers:
    """Thread-local read-only Consumers, one per configured backend."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self._local = threading.local()

    def _stores(self) -> dict[str, Any]:
        stores = getattr(self._local, "stores", None)
        if stores is None:
            stores = self._local.stores = {}
        return stores

    def get(self, backend: str) -> Any:
        """This thread's Consumer for ``backend``; 503 when it cannot be opened."""
        stores = self._stores()
        store = stores.get(backend)
        if store is None:
            entry = self.cfg.backends.get(backend)
            if entry is None:
                raise ApiError(400, f"unknown backend {backend!r} (configured: "
                                    f"{', '.join(sorted(self.cfg.backends)) or 'none'})")
            try:
                store = connect(entry, readonly=True, schemas=self.cfg.schemas.values())
            except (BackendError, ValueError, OSError) as exc:
                raise ApiError(503, f"backend {backend!r} is unavailable: {exc}") from None
            stores[backend] = store
        return store

    def discard(self, backend: str) -> None:
        store = self._stores().pop(backend, None)
        if store is not None:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too; it is gone either way
                pass

    def close_all(self) -> None:
        for name in list(self._stores()):
            self.discard(name)

    @contextmanager
    def errors(self, backend: str) -> Iterator[None]:
        """Backend failure → 503 (and a fresh connection next time); a refused read → 400."""
        try:
            yield
        except ApiError:
            raise
        except BackendError as exc:
            self.discard(backend)
            log.warning("backend %s: %s", backend, exc)
            raise ApiError(503, f"backend {backend!r} is unavailable: {exc}") from None
        except UnknownMeasurementError as exc:
            raise ApiError(404, str(exc)) from None
        except ValueError as exc:  # a parameter the backend refused that validation let through
            raise ApiError(400, str(exc)) from None


def spec_for(cfg: Config, name: str) -> SchemaSpec | None:
    """The configured schema of a measurement (the first one naming it), or of the schema called ``name``."""
    for spec in cfg.schemas.values():
        if spec.measurement == name:
            return spec
    return cfg.schemas.get(name)


def resolve(cfg: Config, readers: Readers, backend: str, name: str) -> tuple[Schema, SchemaSpec | None, bool]:
    """(schema, configured spec, stored?) of the measurement in the path; 404 when neither config nor store has it.

    ``name`` may be a measurement or a schema name (ligo-scald's ``/api/latest`` looked schemas up by the path).
    A configured measurement nothing has been stored for yet is not an error: its reads are empty.
    """
    if not NAME_RE.fullmatch(name or ""):
        raise ApiError(404, f"unknown measurement {name!r}")
    spec = spec_for(cfg, name)
    measurement = spec.measurement if spec is not None else name
    store = readers.get(backend)
    with readers.errors(backend):
        try:
            return store.schema(measurement), spec, True
        except UnknownMeasurementError:
            if spec is None:
                raise ApiError(404, f"unknown measurement {name!r}") from None
    return Schema(spec.measurement, tuple(spec.columns), spec.column_key, tuple(spec.tags), spec.tag_key,
                  spec.aggregate), spec, False


#: ligo-scald's ``store_triggers`` keeps triggers (no tags, one per second: the lowest FAR) in nested retention
#: policies ``"<far>_hz"``: each holds every stored trigger with a FAR at most ``far`` (names are ``str(float)``).
LIGO_TRIGGER_FARS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def read_ligo_triggers(store: Any, measurement: str, start: float, end: float, columns: list[str],
                       far: float | None) -> tuple[str, list[tuple[float, dict]]] | None:
    """``(retention policy, [(gps time, {column: value})...])`` of triggers ligo-scald's Aggregator stored, or None
    (not an InfluxDB store, no such retention policy, or nothing there).

    Why here: ``/api/table`` must show triggers written by ligo-scald, which live outside the levels every other read
    uses. The finest policy that still holds every trigger with FAR ≤ ``far`` is read (``"0.01_hz"`` without
    ``far``); the caller filters on the FAR column. Only the store's public ``query`` is used.
    """
    from ..io import influx

    if not isinstance(store, influx.Consumer) or not columns:
        return None
    if far is None:
        threshold = LIGO_TRIGGER_FARS[0]
    else:  # the smallest threshold that is still >= far (the last policy when far is below them all)
        threshold = min((f for f in LIGO_TRIGGER_FARS if f >= far), default=LIGO_TRIGGER_FARS[-1])
    rp = f"{threshold}_hz"
    source = ".".join(influx.quote_ident(name) for name in (store.db, rp, measurement))
    lo, hi = (int(influx.gps_to_ns(t)[0]) for t in (start, end))
    statement = (f"SELECT {','.join(influx.quote_ident(c) for c in columns)} FROM {source} "
                 f"WHERE time >= {lo} AND time <= {hi}")
    try:
        series = store.query(statement)
    except BackendError as exc:
        if "retention policy not found" in str(exc):
            return None
        raise
    if not series or not series[0].get("values"):
        return None
    names = series[0]["columns"][1:]
    values = series[0]["values"]
    stamps = influx.ns_to_gps([row[0] for row in values]).tolist()
    return rp, [(t, dict(zip(names, row[1:]))) for t, row in zip(stamps, values)]
