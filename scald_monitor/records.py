"""Plain data records, without the ``dataclasses`` module.

``check_scald`` is forked by Nagios for every check and must start in a few tens of milliseconds.  ``import
dataclasses`` pulls in ``inspect`` (with ``ast``, ``dis``, ``tokenize``), and every ``@dataclass`` compiles four or
five methods with ``exec``: for the dozen records on the plugin's path (configuration, ranges, results, schemas)
that came to 10-15 ms, a third of the plugin's budget.  Those records derive from :class:`Record` or
:class:`FrozenRecord` instead and write their ``__init__`` out; these bases give them what this project relied on
from ``@dataclass``: the same ``repr``, field-wise equality with instances of the same class, ``replace``, and for
frozen records hashing and refusal of assignment.
"""
from __future__ import annotations

TYPE_CHECKING = False  # not ``from typing import ...``: importing typing costs the plugin ~2 ms
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    """A mutable record: subclasses name their fields in ``_fields`` (in ``__init__`` order) and set them there."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()  # type: ignore[attr-defined]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as a dataclass

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (``dataclasses.replace``)."""
        values = {name: getattr(self, name) for name in self._fields}
        values.update(changes)
        return type(self)(**values)


class FrozenRecord(Record):
    """An immutable, hashable record; ``__init__`` sets its fields with :meth:`_init`."""

    __slots__ = ()

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __hash__(self) -> int:
        return hash(self._values())
