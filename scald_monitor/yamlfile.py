"""Read a YAML document together with the line of every key and value, so that a problem can say ``FILE:LINE``.

Shared by the configuration (:mod:`scald_monitor.config`) and the report configuration
(:mod:`scald_monitor.report_config`). Line numbers come from the node tree (``yaml.compose``); the data are then
constructed from those same nodes, so they are exactly what ``yaml.safe_load`` gives.
"""
from __future__ import annotations

import yaml

from .schemawalk import format_path

TYPE_CHECKING = False  # no ``typing`` at run time: check_scald reads its configuration through this module
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Document", "parse"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_INDEXED_NODES = 200_000  # alias bombs: stop recording lines (fall back to ancestors), never hang


class _Loader(yaml.SafeLoader):
    """SafeLoader whose constructor errors always carry the line of the node that failed.

    PyYAML lets plain exceptions escape for some values (e.g. ``2001-13-45`` resolves as a timestamp and then
    ``datetime`` raises ``ValueError``); wrapping them keeps "a broken file gives file:line" true.

    Not ``CSafeLoader``: libyaml accepts files PyYAML rejects and reads some differently (a tab after ``key:`` in
    a flow mapping, ``?`` inside a flow scalar, an empty ``!`` tag, a comment after a block scalar header...), so
    the faster parser would change which configurations load, for ~1.5 ms saved per check_scald run.
    """

    def construct_object(self, node, deep=False):  # noqa: D102 - PyYAML hook
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:  # noqa: BLE001 - any constructor failure is a problem with that value
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from exc


class Document:
    """The parsed file: data, the line of every key and value by key path, and what was wrong with the text.

    ``errors`` holds ``(line, key path, message)``; ``fatal`` means the text could not be parsed, while duplicate
    keys are errors reported along with the rest. Whether ``data`` is what the file must hold is the caller's
    business (an empty file gives None).
    """

    def __init__(self, n_lines: int = 1) -> None:
        self.data: Any = None
        self.key_lines: dict = {}
        self.value_lines: dict = {}
        self.errors: list[tuple[int, str, str]] = []
        self.fatal = False
        self.n_lines = n_lines

    def line(self, path: tuple, at: str = "key") -> int:
        """The line of ``path``'s key (``at="key"``) or value, else of its nearest ancestor that has one."""
        first, second = (self.key_lines, self.value_lines) if at == "key" else (self.value_lines, self.key_lines)
        probe = tuple(path)
        while True:
            try:
                found = first.get(probe) or second.get(probe)
            except TypeError:  # an unhashable component cannot be in the index
                found = None
            if found:
                return min(max(1, found), self.n_lines)
            if not probe:
                return 1
            probe = probe[:-1]
            first, second = self.key_lines, self.value_lines

    def _fail(self, line: int | None, message: str) -> Document:
        self.errors.append((min(max(1, line or 1), self.n_lines), "", message))
        self.fatal = True
        return self


def parse(text: str) -> Document:
    """Parse ``text``; a syntax error is ``fatal``."""
    doc = Document(n_lines=max(1, len(text.splitlines())))
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
        try:
            node = loader.get_single_node()
            if node is not None:
                _index(loader, node, (), doc, set(), [0])
                doc.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return doc._fail(mark.line + 1 if mark else 1, f"invalid YAML: {_yaml_message(exc)}")
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return doc._fail(line, f"invalid YAML: {exc.reason} ({char})")
    except yaml.YAMLError as exc:
        return doc._fail(1, f"invalid YAML: {exc}")
    except RecursionError:
        return doc._fail(1, "invalid YAML: nesting too deep")
    return doc


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    if exc.context_mark is not None and exc.problem_mark is not None and exc.context:
        if exc.context_mark.line != exc.problem_mark.line:
            parts[0] = f"{exc.context} (line {exc.context_mark.line + 1})"
    return "; ".join(parts) or "syntax error"


def _index(loader: yaml.SafeLoader, node: yaml.Node, path: tuple, doc: Document, stack: set, count: list) -> None:
    """Record the line of every key and value under ``node``; report duplicate keys (YAML keeps the last)."""
    count[0] += 1
    if count[0] > _MAX_INDEXED_NODES:
        return
    doc.value_lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in stack:  # a recursive alias; PyYAML builds a cyclic object, nothing more to index
        return
    if isinstance(node, yaml.SequenceNode):
        stack.add(id(node))
        for i, item in enumerate(node.value):
            _index(loader, item, path + (i,), doc, stack, count)
        stack.discard(id(node))
    elif isinstance(node, yaml.MappingNode):
        stack.add(id(node))
        seen: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merged keys fall back to the line of the mapping that merges them
            key = loader.construct_object(key_node)
            try:
                hash(key)
            except TypeError:  # e.g. '!!seq x' as a key: construct_document reports it with its line
                continue
            line = key_node.start_mark.line + 1
            sub = path + (key,)
            if key in seen:
                doc.errors.append((line, format_path(sub), f"duplicate key (first defined at line {seen[key]})"))
            else:
                seen[key] = line
                doc.key_lines[sub] = line
            _index(loader, value_node, sub, doc, stack, count)
        stack.discard(id(node))
