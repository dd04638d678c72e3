"""Read-only backend connections for the web threads and the translation of backend failures into HTTP answers.
Every read goes through the store interface (``io/store.py``), triggers and snapshots included.

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
