"""The schemas of a scald config file, registered on a store: what ligo-scald's ``Aggregator.load(path)`` did.

Why here and not in ``io/``: reading and validating YAML is the config layer's work, and the stores (``io/``) depend
on nothing above them. ``Aggregator.load`` stays, for scripts written against ligo-scald, as a shim that calls this.
"""
from __future__ import annotations

from typing import Any


def register_schemas(store: Any, path: str | None = None) -> list[str]:
    """Register every schema of the config file ``path`` (``$SCALDRC_PATH`` when None) that ``store`` does not know
    yet, through its ``register_schema`` (so a writer refuses what it must not write); the measurements registered.

    Raises ``config.ConfigError`` for a missing or invalid file, as every command does.
    """
    from .config import load, resolve_path

    added = []
    for spec in load(resolve_path(path)).schemas.values():
        if spec.measurement not in store.schemas:
            store.register_schema(spec.measurement, spec.columns, spec.column_key, spec.tags or None, spec.tag_key,
                                  spec.aggregate)
            added.append(spec.measurement)
    return added
