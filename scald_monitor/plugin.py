"""``check_scald``: the Nagios plugin (Monitoring Plugins guidelines: exit 0/1/2/3, one status line, perfdata).

Nagios forks this for every check, so start-up matters: the status-file mode imports only the stdlib-only status
module (:mod:`scald_monitor.outputs.status`, which judges the document exactly as ``scald serve`` does) and, from the
standard library, little beyond ``json`` and ``re`` (``urllib`` only for a URL); the modes that read a store import
the configuration and the backends lazily. Every failure ends in UNKNOWN (3) with a one-line reason, never a traceback.
"""
from __future__ import annotations

import sys

from .rules.result import OK, UNKNOWN, plain_text, state_name

USAGE = """\
Usage: check_scald [-h] [-V] [-v] [-t SECONDS] --config FILE --check NAME
       check_scald --status-file PATH|URL [--max-age SECONDS]
       check_scald --config FILE --measurement M [--column C] [--tag k=v ...] [--aggregate max]
                   [--lookback S] [--backend NAME] [--units U] [--heartbeat] [-w RANGE] [-c RANGE]
"""

HELP = USAGE + """
Nagios plugin for scald-monitor. Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

Modes:
  --check NAME            evaluate a check of the configuration against its backend now
  --status-file PATH|URL  report a status JSON document (scald-monitor's or any IGWN producer's): the
                          status_intervals entry matching the time since created_unix/created_gps is used, as
                          IGWN's nagios-check-json does; no match is UNKNOWN
  --measurement M         an ad-hoc threshold (or --heartbeat age check) on stored data

Options:
  --config FILE           scald configuration (default: $SCALDRC_PATH); -c means --critical, as in every plugin
  --max-age SECONDS       with --status-file: a document older than this (or of unknown age) is UNKNOWN,
                          unless its own later interval already applies (stale results never pass)
  -w, --warning RANGE     Nagios range (10, 10:, ~:10, 10:20, @10:20; any float notation, e.g. 1e-21);
                          with --heartbeat: the age in seconds of the newest point
  -c, --critical RANGE    likewise, tested before the warning range
  --column C              column to check (default: the schema's column_key)
  --tag k=v               only this tag combination (repeat for each tag of the schema); default: every tag
                          value, the worst one decides
  --aggregate A           min, median, max (default) or latest, over the look-back
  --lookback S            seconds (default 300; heartbeat: twice the critical age)
  --backend NAME          backend of the configuration (default: default)
  --units U               unit shown in the output (s, ms, %, B... also go into perfdata)
  -t, --timeout SECONDS   give up after this long, UNKNOWN (default 10)
  -v, --verbose           more detail (repeatable)
  -V, --version           print the version
  -h, --help              print this help
"""


class UsageError(Exception):
    """A bad argument: reported as UNKNOWN with the reason."""


_VALUED = {
    "--config": "config", "--check": "check", "--status-file": "status_file", "--max-age": "max_age",
    "-w": "warning", "--warning": "warning", "-c": "critical", "--critical": "critical",
    "--measurement": "measurement", "--column": "column", "--tag": "tag", "--aggregate": "aggregate",
    "--lookback": "lookback", "--backend": "backend", "--units": "units", "-t": "timeout", "--timeout": "timeout",
}
_FLAGS = {"--heartbeat": "heartbeat", "-h": "help", "--help": "help", "-V": "version", "--version": "version"}


def parse_args(argv: list[str]) -> dict:
    """A small hand-written parser: argparse alone costs more than the whole status-file mode."""
    opts: dict = {"tag": [], "verbose": 0, "timeout": "10"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _VALUED:
            if eq:
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise UsageError(f"option {name} needs a value")
            key = _VALUED[name]
            if key == "tag":
                opts["tag"].append(value)
            else:
                opts[key] = value
        elif arg in _FLAGS:
            opts[_FLAGS[arg]] = True
        elif arg == "--verbose" or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
            opts["verbose"] += 1 if arg == "--verbose" else len(arg) - 1
        elif len(arg) > 2 and arg[:2] in ("-w", "-c", "-t") and not arg.startswith("--"):
            opts[_VALUED[arg[:2]]] = arg[2:]  # -w10, -c~:20, -t5
        else:
            raise UsageError(f"unknown argument {arg!r}")
        i += 1
    return opts


#: Longest timeout, look-back or age accepted: larger ones are typos (and overflow the clock, e.g. -t 1e300).
MAX_SECONDS = 366 * 86400.0


def _seconds(opts: dict, key: str, default: float | None = None) -> float | None:
    raw = opts.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"--{key.replace('_', '-')} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise UsageError(f"--{key.replace('_', '-')} must be positive, got {raw!r}")
    if value > MAX_SECONDS:
        raise UsageError(f"--{key.replace('_', '-')} must be at most {MAX_SECONDS:g} s (a year), got {raw!r}")
    return value


def _line(name: str, state: int, summary: str) -> str:
    """``SCALD [NAME] STATE - summary``: one line, no markup (see ``result.plain_text``)."""
    head = " ".join(part for part in ("SCALD", plain_text(name.upper()), state_name(state)) if part)
    return f"{head} - {plain_text(summary)}"


# -- status-file mode --------------------------------------------------------------------------------------------
class SourceError(Exception):
    """The status document could not be fetched; the message is the one-line reason (no exception class)."""


def _read_source(source: str, timeout: float) -> bytes:
    """The bytes at a path, ``file://`` or HTTP(S) URL; a non-2xx answer is an error carrying its code and the
    body's JSON ``error`` (what scald serve and most JSON APIs answer), so the operator sees why, not a parse error.
    """
    from .outputs.status import MAX_BYTES

    if "://" in source and not source.startswith("file://"):
        from urllib.error import HTTPError, URLError
        from urllib.request import Request, urlopen

        try:
            with urlopen(Request(source, headers={"Accept": "application/json"}), timeout=timeout) as response:
                raw = response.read(MAX_BYTES + 1)
        except HTTPError as exc:
            raise SourceError(f"HTTP {exc.code} from {source}: {_error_text(exc)}") from None
        except URLError as exc:
            reason = exc.reason
            text = getattr(reason, "strerror", None) or str(reason)
            raise SourceError(f"cannot reach {source}: {text}") from None
        except (OSError, ValueError) as exc:  # timeouts, resets, a malformed URL
            raise SourceError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    else:
        path = source[len("file://"):] if source.startswith("file://") else source
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise SourceError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise SourceError(f"{source} is larger than {MAX_BYTES} bytes: not a status document")
    return raw


def _error_text(exc) -> str:
    """The reason in an HTTP error answer: its JSON ``error``, else its first line of text, else the status phrase."""
    from .outputs.status import DocumentError, load

    try:
        body = exc.read(64 * 1024)
    except OSError:
        body = b""
    try:
        error = load(body).get("error")
        if isinstance(error, str) and error.strip():
            return " ".join(error.split())
    except DocumentError:
        pass
    text = body.decode("utf-8", "replace").strip()
    if text and "<" not in text[:1]:  # not an HTML error page
        return " ".join(text.splitlines()[0].split())[:200]
    return str(exc.reason or "error")


def _perf_from_metrics(metrics) -> str:
    from .rules.perfdata import format_perf

    if not isinstance(metrics, dict):
        return ""
    out = []
    for label, entry in metrics.items():
        fields = list(entry) if isinstance(entry, (list, tuple)) else [entry]
        fields += [None] * (5 - len(fields))
        value = fields[0]
        if isinstance(value, str):  # "25s": value with its unit, as scald-monitor writes it
            num = value.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ%")
            uom = value[len(num):]
        else:
            num, uom = value, ""
        out.append(format_perf(label, num, uom, *(f if f is not None else "" for f in fields[1:5])))
    return " ".join(out)


def status_file_mode(opts: dict, now: float) -> tuple[int, str]:
    """Report the status document at ``--status-file`` as it reads at ``now`` (:func:`outputs.status.judge`)."""
    from .outputs.status import DocumentError, judge, load

    source = opts["status_file"]
    timeout = _seconds(opts, "timeout", 10.0)
    max_age = _seconds(opts, "max_age")
    try:
        doc = load(_read_source(source, timeout))
    except SourceError as exc:
        return UNKNOWN, _line(_stem(source), UNKNOWN, str(exc))
    except DocumentError as exc:
        return UNKNOWN, _line(_stem(source), UNKNOWN, f"{source} is not a status document: {exc}")
    name = doc["check"] if isinstance(doc.get("check"), str) and doc["check"] else _stem(source)
    verdict = judge(doc, now, max_age)
    if verdict.interval is None:
        return UNKNOWN, _line(name, UNKNOWN, f"{source}: {verdict.reason}")
    state = verdict.state
    text = verdict.text.replace("\\n", "\n")
    first, _, rest = text.partition("\n")
    first, _, inline_perf = first.partition("|")
    prefix = f"SCALD {name.upper()} "
    if first.startswith(prefix) and " - " in first:  # our own line: restate it with the state chosen now
        first = first.split(" - ", 1)[1]
    perf = _perf_from_metrics(doc.get("performance_metrics")) or inline_perf.strip()
    head = _line(name, state, first)
    lines = [f"{head} | {perf}" if perf else head]
    lines.extend(plain_text(line) for line in rest.split("\n") if line.strip())
    if opts["verbose"]:
        when = f"created {verdict.age} s ago" if verdict.age is not None else "no creation time"
        lines.append(f"source: {source}, {when}{', stale' if verdict.stale else ''}")
    return state, "\n".join(lines)


def _stem(source: str) -> str:
    base = source.rstrip("/").rsplit("/", 1)[-1]
    return base[:-5] if base.endswith(".json") else (base or "status")


# -- modes reading a store ---------------------------------------------------------------------------------------
def _config(opts: dict):
    import os

    from .config import ConfigError, load

    path = opts.get("config") or os.environ.get("SCALDRC_PATH")
    if not path:
        raise UsageError("no configuration: give --config FILE or set SCALDRC_PATH")
    try:
        return load(path)
    except ConfigError as exc:
        raise UsageError(f"bad configuration: {exc.problems[0]}"
                         + (f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else "")) from None


def check_mode(opts: dict) -> tuple[int, str]:
    from .rules.run import evaluate_check

    cfg = _config(opts)
    name = opts["check"]
    if name not in cfg.checks:
        raise UsageError(f"no check named {name!r} (known: {', '.join(sorted(cfg.checks)) or 'none'})")
    timeout = _seconds(opts, "timeout", 10.0)
    cfg.checks[name] = cfg.checks[name].replace(timeout=min(timeout, cfg.checks[name].timeout))
    result = evaluate_check(cfg, name, lite=True)
    return result.state, result.plugin_output()


def adhoc_mode(opts: dict) -> tuple[int, str]:
    from .config import ConfigError, make_check
    from .io import connect
    from .rules.evaluate import evaluate
    from .rules.ranges import RangeError, parse_range

    cfg = _config(opts)
    heartbeat = bool(opts.get("heartbeat"))
    warning, critical = opts.get("warning"), opts.get("critical")
    if not heartbeat and warning is None and critical is None:
        raise UsageError("give -w/--warning and/or -c/--critical")
    if heartbeat:
        if critical is None:
            raise UsageError("--heartbeat needs -c/--critical (age in seconds)")
        for key in ("warning", "critical"):
            if opts.get(key) is not None:
                _seconds(opts, key)
    else:
        for value in (warning, critical):
            if value is not None:
                try:
                    parse_range(value)
                except RangeError as exc:
                    raise UsageError(str(exc)) from None
    aggregate = opts.get("aggregate", "max")
    if aggregate not in ("min", "median", "max", "latest"):
        raise UsageError(f"--aggregate must be min, median, max or latest, got {aggregate!r}")
    backend = opts.get("backend", "default")
    if backend not in cfg.backends:
        raise UsageError(f"no backend named {backend!r} in the configuration")
    store = connect(cfg.backend(backend), readonly=True, lite=True, schemas=cfg.schemas.values())
    try:
        spec = _schema_for(cfg, store, opts["measurement"])
        column = opts.get("column") or spec.column_key
        if column not in spec.columns:
            raise UsageError(f"{spec.measurement} has no column {column!r} (columns: {', '.join(spec.columns)})")
        tag_filter = _tag_filter(spec, opts["tag"])
        try:
            check = make_check(opts["measurement"], {
                "type": "heartbeat" if heartbeat else "threshold", "schema": opts["measurement"],
                "backend": backend, "column": column, "aggregate": aggregate, "lookback": _seconds(opts, "lookback"),
                "warning": warning, "critical": critical, "per_tag": bool(spec.tags) and not tag_filter,
                "units": opts.get("units"),
            }).replace(tag_filter=tag_filter)
        except ConfigError as exc:  # what the options above let through but a check cannot take
            raise UsageError(exc.problems[0].message) from None
        result = evaluate(check, spec, store)
    finally:
        store.close()
    return result.state, result.plugin_output()


def _schema_for(cfg, store, measurement: str):
    for spec in cfg.schemas.values():
        if spec.measurement == measurement:
            return spec
    from .io.errors import UnknownMeasurementError

    try:
        return store.schema(measurement)  # the store remembers every registered schema
    except UnknownMeasurementError:
        raise UsageError(f"unknown measurement {measurement!r} (not in the configuration nor the store)") from None


def _tag_filter(spec, pairs: list[str]) -> tuple[tuple[str, str], ...] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key or not value:
            raise UsageError(f"--tag expects NAME=VALUE, got {pair!r}")
        if key not in spec.tags:
            raise UsageError(f"{spec.measurement} has no tag {key!r} (tags: {', '.join(spec.tags) or 'none'})")
        out[key] = value
    missing = [t for t in spec.tags if t not in out]
    if missing:
        raise UsageError(f"--tag must name every tag of {spec.measurement}; missing {', '.join(missing)}")
    return tuple((t, out[t]) for t in spec.tags)


# -- entry point -------------------------------------------------------------------------------------------------
def run(argv: list[str]) -> tuple[int, str]:
    opts = parse_args(argv)
    if opts.get("help"):
        return OK, HELP.rstrip("\n")
    if opts.get("version"):
        from . import __version__

        return OK, f"check_scald {__version__}"
    modes = [m for m in ("status_file", "check", "measurement") if opts.get(m)]
    if len(modes) != 1:
        raise UsageError("give exactly one of --status-file, --check or --measurement")
    if modes[0] == "status_file":
        import time

        return status_file_mode(opts, time.time())
    if modes[0] == "check":
        return check_mode(opts)
    return adhoc_mode(opts)


def _on_alarm(signum, frame) -> None:
    sys.stdout.write("SCALD UNKNOWN - timed out (-t/--timeout)\n")
    sys.stdout.flush()
    import os

    os._exit(UNKNOWN)


def main(argv: list[str] | None = None) -> int:
    """Run the plugin; the process exits with the state. Nothing escapes as a traceback."""
    import signal

    argv = sys.argv[1:] if argv is None else list(argv)
    previous = None
    try:
        if not argv:
            raise UsageError("no mode given")
        try:
            timeout = _seconds(parse_args(argv), "timeout", 10.0)
        except UsageError:
            timeout = 10.0  # run() reports the bad argument; the default still bounds it
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        state, output = run(argv)
    except UsageError as exc:  # one line, as Nagios shows it; --help has the usage
        state, output = UNKNOWN, _line("", UNKNOWN, f"{exc} (see check_scald --help)")
    except KeyboardInterrupt:
        state, output = UNKNOWN, "SCALD UNKNOWN - interrupted"
    except Exception as exc:  # noqa: BLE001 - a plugin must answer UNKNOWN, never crash with a traceback
        reason = str(exc).splitlines()[0] if str(exc).strip() else "no reason given"
        state, output = UNKNOWN, f"SCALD UNKNOWN - check_scald failed: {reason}"  # no class names: a reason
    finally:
        if previous is not None:  # when called in-process (tests, embedding), leave no alarm behind
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    sys.stdout.write(output + "\n")
    sys.stdout.flush()
    return state


if __name__ == "__main__":
    sys.exit(main())
