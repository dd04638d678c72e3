"""Nagios performance data: ``'label'=value[UOM];warn;crit;min;max``.

Plain functions, stdlib only (no dataclasses): the plugin's status-file mode formats perfdata with this module and
must start as fast as a bare interpreter.
"""
from __future__ import annotations

import math
import re

_PLAIN_LABEL = re.compile(r"[A-Za-z0-9_.:/-]+", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Markup in a text: tags, and any angle bracket left over. Texts and labels carry tag values (user data) to
#: Nagios's and IGWN's web pages; their safety must not rest on the page escaping them (escape_html_tags).
MARKUP = re.compile(r"<[^<>]*>|[<>]")


def _number(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    value = float(value)
    if not math.isfinite(value):
        return "U" if math.isnan(value) else ""
    text = f"{value:.10g}"
    return text if math.isfinite(float(text)) else repr(value)  # 10 digits would round 1.79e308 up to inf


def format_perf(label: str, value, uom: str = "", warn="", crit="", minimum=None, maximum=None) -> str:
    """One datum; labels with spaces or quotes are quoted (``'`` doubled); ``=``, ``|`` and control characters
    (which would end the perfdata or the line) become ``_``; markup is removed."""
    label = _CONTROL.sub("_", MARKUP.sub("", str(label)).replace("=", "_").replace("|", "_")) or "_"
    if not _PLAIN_LABEL.fullmatch(label):
        label = "'" + label.replace("'", "''") + "'"
    text = "U" if value is None else _number(value)
    fields = [f"{text}{'' if text == 'U' else uom}", _number(warn), _number(crit), _number(minimum),
              _number(maximum)]
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()
    return f"{label}=" + ";".join(fields)
