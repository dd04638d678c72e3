"""Passive service results for Nagios (and Naemon/Icinga 1), written to the external command file.

The command file is a FIFO that Nagios reads. Two properties matter to a daemon writing into it:

* a command is one line, and a write of at most ``PIPE_BUF`` (4096) bytes to a FIFO is atomic, so every line we
  build fits in that, and is written with one ``os.write``: lines of several writers never interleave;
* nobody may be reading (Nagios stopped or restarting). Opening a FIFO for writing then blocks forever, and
  writing to a full one blocks too, so we open with ``O_NONBLOCK``: no reader → ``ENXIO``, full → ``EAGAIN``, and
  the daemon logs a warning and carries on (Nagios's freshness check turns the silence into an alert).

Multi-line output travels as a literal ``\\n`` (and a backslash as ``\\\\``): Nagios 4 unescapes both when it stores
the long output. Stdlib only.
"""
from __future__ import annotations

import errno
import logging
import os

from ..rules.result import CheckStatus

__all__ = ["PIPE_BUF", "passive_line", "send_passive"]

log = logging.getLogger(__name__)

#: POSIX's minimum (and Linux's value) for atomic pipe writes; a whole command line, newline included, fits in it.
PIPE_BUF = 4096
#: Room kept for the "lines not shown" marker and for the "[truncated]" mark of an over-long first line.
_MARKER_ROOM = 48


def _blen(text: str) -> int:
    return len(text.encode("utf-8"))


def _clean(text: str) -> str:
    """Valid UTF-8 (lone surrogates replaced) and no NUL, which would end the command in Nagios's C code."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\0", "")


def _escape(text: str, newline: str) -> str:
    """Backslashes doubled (Nagios unescapes ``\\\\``); every kind of line break replaced by ``newline``."""
    return newline.join(_clean(text).replace("\\", "\\\\").splitlines())


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` bytes of escaped ``text``: never half a UTF-8 character, never half an escape sequence."""
    cut = text.encode("utf-8")[:max(limit, 0)].decode("utf-8", "ignore")
    trailing = len(cut) - len(cut.rstrip("\\"))
    return cut[:-1] if trailing % 2 else cut


def _name(kind: str, value: str) -> str:
    if not value or ";" in value or "\0" in value or value.splitlines() != [value]:
        raise ValueError(f"invalid Nagios {kind} name {value!r}: must be non-empty, one line, without ';'")
    return value


def passive_line(host: str, service: str, status: CheckStatus, now_unix: float) -> str:
    """``[<t>] PROCESS_SERVICE_CHECK_RESULT;<host>;<service>;<code>;<output>`` plus newline, ≤ ``PIPE_BUF`` bytes.

    ``output`` is the plugin output: ``first line | perfdata``, then the long text after literal ``\\n``s. When the
    line would be too long, long-text lines are dropped from the end and replaced by a "… N more lines" marker; only
    if the first line and perfdata alone do not fit are trailing perfdata items dropped and then the first line cut.
    """
    result = status.result
    prefix = (f"[{int(now_unix)}] PROCESS_SERVICE_CHECK_RESULT;{_name('host', host)};"
              f"{_name('service', service)};{int(result.state)};")
    budget = PIPE_BUF - _blen(prefix) - 1  # the trailing newline
    if budget < 2 * _MARKER_ROOM:
        raise ValueError(f"host and service names too long for a {PIPE_BUF}-byte Nagios command line")

    head = _escape(result.first_line(), " ")
    if _blen(head) > budget - _MARKER_ROOM:
        head = _cut(head, budget - _MARKER_ROOM) + " [truncated]"
    room = budget - _blen(head)

    perf_items = [_escape(str(p), " ") for p in result.perfdata]
    perf = ""
    for item in perf_items:
        candidate = f"{perf} {item}" if perf else f" | {item}"
        if _blen(candidate) > room - _MARKER_ROOM:
            break  # keep whole items only: a cut item would be invalid perfdata
        perf = candidate
    room -= _blen(perf)

    lines = ["\\n" + _escape(line, "\\n") for line in result.long_text]
    total = sum(map(_blen, lines))
    shown = len(lines)
    if total > room:
        while shown and total + _blen(_more(len(lines) - shown)) > room:
            shown -= 1
            total -= _blen(lines[shown])
        lines = lines[:shown] + [_more(len(lines) - shown)]
    return prefix + head + perf + "".join(lines) + "\n"


def _more(count: int) -> str:
    return f"\\n[... {count} more line{'s' if count != 1 else ''} not shown]"


def send_passive(command_file: str, lines: list[str]) -> int:
    """Write ``lines`` (from ``passive_line``) to the Nagios command file; return how many were written.

    Never blocks and never raises for the everyday failures (file absent, Nagios not reading, pipe full, no
    permission): each is one warning and the count tells the caller what got through. A regular file works too,
    which is what Nagios's ``check_external_commands`` tests and our own tests use.
    """
    if not lines:
        return 0
    try:
        fd = os.open(command_file, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except FileNotFoundError:
        log.warning("Nagios command file %s does not exist (is Nagios running with check_external_commands=1?); "
                    "%d passive result(s) not sent", command_file, len(lines))
        return 0
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            log.warning("Nagios is not reading its command file %s; %d passive result(s) not sent",
                        command_file, len(lines))
        else:
            log.warning("cannot open Nagios command file %s: %s; %d passive result(s) not sent",
                        command_file, exc.strerror or exc, len(lines))
        return 0
    written = 0
    try:
        for line in lines:
            data = line.encode("utf-8")
            if len(data) > PIPE_BUF or data.count(b"\n") != 1 or not data.endswith(b"\n"):
                log.warning("not sending a malformed Nagios command (%d bytes; one line of at most %d expected)",
                            len(data), PIPE_BUF)
                continue
            try:
                n = os.write(fd, data)
            except BlockingIOError:
                log.warning("Nagios command file %s is full (Nagios is not keeping up); %d of %d passive "
                            "result(s) not sent", command_file, len(lines) - written, len(lines))
                break
            except OSError as exc:  # EPIPE: Nagios closed it between open and write
                log.warning("writing to Nagios command file %s failed: %s; %d of %d passive result(s) not sent",
                            command_file, exc.strerror or exc, len(lines) - written, len(lines))
                break
            if n != len(data):  # cannot happen for a FIFO (≤ PIPE_BUF is all or nothing); a full disk, say
                log.warning("short write to Nagios command file %s (%d of %d bytes)", command_file, n, len(data))
                break
            written += 1
    finally:
        os.close(fd)
    return written
