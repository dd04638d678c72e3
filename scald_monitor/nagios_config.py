"""Nagios object definitions for the checks of a configuration (``scald-monitor nagios-config``).

The monitoring side of a site already runs Nagios (or Icinga 1 / Naemon, which read the same object files), so the
useful thing to hand an operator is a directory of ``.cfg`` files to include with ``cfg_dir=``, one service per
configured check, in either of two modes:

* **passive**: ``scald-monitor run`` pushes every result into the external command file; Nagios never runs
  anything itself except, through *freshness checking*, a dummy check that turns a service UNKNOWN (CRITICAL for a
  heartbeat, as in the status JSON) when no result arrived for ``expiry`` (default 3 × ``interval``) seconds: the
  classic dead-man switch for a stopped daemon.
* **active**: Nagios runs ``check_scald --status-file <status_dir>/<check>.json --max-age <s>`` on each status
  document the daemon writes (or on its URL when the dashboard serves them).

Intervals: Nagios counts ``check_interval`` in units of ``interval_length`` seconds, 60 by default, and the unit
is global to the whole Nagios instance.  We write whole units, **rounded up** (a 5 s check is checked every
minute), and never ask the operator to change ``interval_length``: doing so would silently rescale every other
check of the site.  Freshness thresholds and maximum ages are in seconds in Nagios anyway and keep their exact
value.  A site (or a test) that does run ``interval_length=1`` passes ``--interval-length 1``.

Templates are plain text with ``@{name}`` placeholders (``string.Template`` with ``@`` as delimiter, since ``$``
is Nagios's macro character); no Jinja2, so this works in the smallest install.  Stdlib only.
"""
from __future__ import annotations

import math
import os
import shutil
import string
import sys
from importlib import resources
from typing import TYPE_CHECKING

from .atomic import write_atomic
from .outputs.status import expiry_seconds

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .config import Check, Config

__all__ = [
    "FILES", "FORBIDDEN_NAME_CHARS", "MODES", "NagiosConfigError", "default_mode", "find_plugin",
    "interval_units", "object_name", "render", "write_files",
]

#: Nagios's default ``illegal_object_name_chars`` (Debian ships the same): such names make the whole config fail.
FORBIDDEN_NAME_CHARS = "`~!$%^&*|'\"<>?,()="
#: Characters that cannot go into a value substituted into a command line: ``!`` splits check_command arguments,
#: ``$`` starts a macro, ``;`` a comment, whitespace splits arguments, the rest make Nagios hand the line to a shell.
FORBIDDEN_ARG_CHARS = "!$;`'\"\\|&<>*?()[]{}~^"
MODES = ("active", "passive")
#: Files written, in the order they are printed to stdout.
FILES = ("commands.cfg", "hosts.cfg", "services.cfg")
#: The marker in the first line of every generated file; only such files are ever removed or overwritten silently.
GENERATED_MARK = "GENERATED, do not edit"
#: How often Nagios runs the (always UP) host check, in seconds.
HOST_CHECK_SECONDS = 300


class NagiosConfigError(ValueError):
    """Nagios could not load what we would generate (a forbidden name, an unusable path); the message says why."""


class _Template(string.Template):
    delimiter = "@"


def _template(name: str) -> _Template:
    return _Template(resources.files(__package__).joinpath("nagios_templates", name).read_text(encoding="utf-8"))


def object_name(kind: str, name: str) -> str:
    """``name`` if Nagios accepts it as an object name (host_name, service_description), else NagiosConfigError."""
    bad = sorted({c for c in name if c in FORBIDDEN_NAME_CHARS or c == ";" or ord(c) < 32 or ord(c) == 127})
    if not name or name != name.strip() or bad:
        why = f"contains {' '.join(repr(c) for c in bad)}" if bad else "is empty or has surrounding spaces"
        raise NagiosConfigError(
            f"{kind} name {name!r} {why}: Nagios refuses object names with any of {FORBIDDEN_NAME_CHARS} "
            "(or ';', control characters); rename it"
        )
    return name


def _arg(value: str, what: str) -> str:
    """``value`` if it can be written into a command line or check_command argument as it is."""
    bad = sorted({c for c in value if c in FORBIDDEN_ARG_CHARS or c.isspace() or ord(c) < 32})
    if not value or bad:
        raise NagiosConfigError(
            f"{what} {value!r} cannot be used in a Nagios command: it contains {' '.join(repr(c) for c in bad)} "
            "(Nagios would split, expand or shell-interpret it); use a path without them, e.g. a symlink"
        )
    return value


def interval_units(seconds: float, interval_length: float = 60) -> int:
    """``seconds`` in Nagios interval units, rounded up, at least 1 (never check less often than configured)."""
    if interval_length <= 0:
        raise NagiosConfigError(f"interval_length must be > 0 seconds, got {interval_length!r}")
    return max(1, math.ceil(float(seconds) / float(interval_length) - 1e-9))


def default_mode(cfg: "Config") -> str:
    """``passive`` when the daemon pushes results (``outputs.nagios_command_file`` set), else ``active``."""
    return "passive" if cfg.outputs.get("nagios_command_file") else "active"


def find_plugin(plugin: str | None = None) -> str:
    """The absolute path of ``check_scald``: ``plugin`` if given, else next to this interpreter, else on PATH.

    Nagios runs commands with its own PATH and working directory, so a bare or relative name is resolved now.
    """
    if plugin:
        if os.sep in plugin or os.path.exists(plugin):
            return os.path.abspath(plugin)
        found = shutil.which(plugin)
        if found:
            return os.path.abspath(found)
        raise NagiosConfigError(f"--plugin {plugin!r}: no such file, and not found on PATH")
    beside = os.path.join(os.path.dirname(sys.executable), "check_scald")
    if os.access(beside, os.X_OK):
        return os.path.abspath(beside)
    found = shutil.which("check_scald")
    if found:
        return os.path.abspath(found)
    raise NagiosConfigError("check_scald not found next to this Python or on PATH; pass --plugin PATH")


def _show(path: str, relative_to: str | None) -> str:
    return os.path.relpath(path, relative_to) if relative_to else path


def _notes(text: str) -> str:
    """A description as one Nagios value: one line, ``;`` escaped (it would start a comment)."""
    return " ".join(text.split()).replace(";", "\\;")


def _mode_settings(mode: str) -> str:
    if mode == "passive":
        pairs = [("active_checks_enabled", "0"), ("passive_checks_enabled", "1"), ("check_freshness", "1")]
    else:
        pairs = [("active_checks_enabled", "1"), ("passive_checks_enabled", "1"), ("check_freshness", "0")]
    return "\n".join(f"    {key:<23} {value}" for key, value in pairs)


def _service(name: str, check: Check, mode: str, interval_length: float, status_ref: str | None) -> str:
    # The status documents' own expiry (outputs.status.expiry_seconds): the freshness threshold, check_scald's
    # --max-age and the Icinga 2 ttl all say "silent for this long" with the same number.
    seconds = expiry_seconds(check)
    extra = []
    if mode == "passive":
        command = f"check_scald_stale!{check.stale_state}!{seconds}"
        extra.append(("freshness_threshold", str(seconds)))
    else:
        command = f"check_scald_status!{status_ref}!{seconds}"
    if check.description:
        extra.append(("notes", _notes(check.description)))
    return _template("service.cfg.in").substitute(
        name=name, check_command=command, check_interval=interval_units(check.interval, interval_length),
        max_attempts=check.max_attempts,
        extra="".join(f"    {key:<23} {value}\n" for key, value in extra),
    )


def _status_ref(cfg: "Config", name: str, status_url_base: str | None, relative_to: str | None) -> str:
    """Where check_scald finds the check's status document: URL under ``status_url_base``, else the file."""
    if status_url_base:
        return _arg(f"{status_url_base.rstrip('/')}/{name}", "status URL")
    status_dir = cfg.outputs.get("status_dir")
    if not status_dir:
        raise NagiosConfigError(
            f"{cfg.path}: outputs.status_dir is not set: active services read the status files that "
            "`scald-monitor run` writes there (set it, pass --status-url-base, or use --mode passive)"
        )
    return _arg(_show(os.path.join(status_dir, f"{name}.json"), relative_to), "status file")


def render(cfg: "Config", mode: str, plugin: str, *, status_url_base: str | None = None,
           interval_length: float = 60, include_host: bool = True, outdir: str | None = None,
           relative_to: str | None = None) -> dict[str, str]:
    """The generated files, ``{file name: text}``; raises NagiosConfigError for anything Nagios would refuse.

    ``outdir`` only appears in the instructions at the top of each file. ``relative_to`` writes every path
    relative to that directory (for the example shipped in the repository, which must not name a machine).
    """
    if mode not in MODES:
        raise NagiosConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    from . import __version__

    host = object_name("host", cfg.outputs["host"])
    config_path = _arg(_show(os.path.abspath(cfg.path), relative_to), "configuration file")
    plugin = _arg(_show(plugin, relative_to), "plugin")
    services = []
    for name, check in cfg.checks.items():
        object_name("service (check)", name)
        ref = _status_ref(cfg, name, status_url_base, relative_to) if mode == "active" else None
        services.append(_service(name, check, mode, interval_length, ref))

    def header(filename: str) -> str:
        return _template("header.in").substitute(
            filename=filename, config=config_path, mode=mode, version=__version__,
            outdir=outdir or "DIR",
        ).rstrip("\n")

    files = {
        "commands.cfg": _template("commands.cfg.in").substitute(
            header=header("commands.cfg"), plugin=plugin, config=config_path),
        "hosts.cfg": _template("hosts.cfg.in").substitute(
            header=header("hosts.cfg"), host=host,
            host_interval=interval_units(HOST_CHECK_SECONDS, interval_length)),
        "services.cfg": _template("services.cfg.in").substitute(
            header=header("services.cfg"), host=host, mode=mode, mode_settings=_mode_settings(mode),
            services="".join(services)),
    }
    if not include_host:
        del files["hosts.cfg"]
    return files


def write_files(files: dict[str, str], outdir: str) -> list[str]:
    """Write each file atomically into ``outdir`` (created if needed); return the paths written.

    Atomic (``atomic.write_atomic``: temp file, fsync, rename) because Nagios may be reloading at that moment. A ``hosts.cfg`` we generated
    earlier is removed when this run omits it (``--no-host``), so a regenerated directory is never half old.
    """
    os.makedirs(outdir, exist_ok=True)
    written = []
    for filename, text in files.items():
        path = os.path.join(outdir, filename)
        write_atomic(path, text.encode("utf-8"), mode=0o644)
        written.append(path)
    for filename in FILES:
        path = os.path.join(outdir, filename)
        if filename not in files and _is_generated(path):
            os.unlink(path)
    return written


def _is_generated(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return GENERATED_MARK in fh.readline()
    except OSError:
        return False
