"""Command-line entry points: ``scald`` (data and web side) and ``scald-monitor`` (alerting side).

Subcommands import their heavy modules inside the function body so that ``--help`` and quick commands start fast.
"""
from __future__ import annotations

import sys

import click

from . import __version__

CONFIG_HELP = "YAML configuration file (default: $SCALDRC_PATH)."
#: How long ``run --once`` waits for queued notifications to go out before it exits (the rest stay queued).
NOTIFY_DRAIN_SECONDS = 30.0


def config_option(required: bool = True):
    """The ``-c/--config`` option every command shares; falls back to ``$SCALDRC_PATH`` like ligo-scald."""
    return click.option(
        "-c", "--config", "config_path", envvar="SCALDRC_PATH", required=required,
        type=click.Path(dir_okay=False), help=CONFIG_HELP, show_envvar=True,
    )


def load_config_or_exit(path: str):
    """Load and validate a config; on any problem print every one of them and exit 2."""
    from .config import ConfigError, load

    try:
        return load(path)
    except ConfigError as exc:
        _exit_with_problems(path, exc)


def _exit_with_problems(path: str, exc: Exception) -> None:
    """Print a ConfigError's problems (the first MAX_PROBLEMS, then a count) and their number; exit 2."""
    click.echo(str(exc), err=True)
    click.echo(f"{path}: {len(exc.problems)} problem(s) found", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="scald")
def scald() -> None:
    """Store, decimate and view timeseries (ligo-scald compatible)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="scald-monitor")
def monitor() -> None:
    """Evaluate threshold and heartbeat checks and publish Nagios-compatible results."""


@monitor.command("validate")
@config_option()
def validate_cmd(config_path: str) -> None:
    """Check a configuration file (never contacts the backends); exit 2 listing every problem."""
    cfg = load_config_or_exit(config_path)
    click.echo(cfg.summary())


@monitor.command("schema")
@click.option("--report", is_flag=True, help="The schema of `scald report` files instead.")
def schema_cmd(report: bool) -> None:
    """Print the configuration's JSON Schema (the document editors validate the YAML with; shipped in the package)."""
    from .schemawalk import schema_path

    with open(schema_path("report" if report else "config"), encoding="utf-8") as fh:
        click.echo(fh.read(), nl=False)


def _open_backend(cfg, name: str, readonly: bool = False):
    """Open a configured backend, turning any failure into a one-line error and exit 2."""
    from .io import BackendError, connect

    try:
        return connect(cfg.backend(name), readonly=readonly, schemas=cfg.schemas.values())
    except (BackendError, ValueError) as exc:
        raise click.ClickException(f"{cfg.path}: backends.{name}: {exc}") from None


def _print_latest(store, fed) -> None:
    """One line per measurement: how many series, and the newest point of each (so a dead series shows)."""
    from .timeutil import gps_now

    now = gps_now()
    for item in fed:
        schema = store.schemas.get(item.measurement)
        latest = store.retrieve_latest_by_tag(item.measurement, schema.column_key) if schema.tags else {}
        if not schema.tags:
            t, v = store.retrieve_latest(item.measurement, schema.column_key)
            latest = {(): (t[0], v[0])} if t else {}
        click.echo(f"{item.measurement}: {item.points:,} points stored in {item.series} series")
        for tags, (t, v) in latest.items():
            label = ",".join(f"{k}={x}" for k, x in zip(schema.tags, tags)) or "(no tags)"
            click.echo(f"  {label:<24} newest {now - t:8.0f} s ago  {schema.column_key}={v:.4g}")


@scald.command("fill")
@config_option()
@click.option("-b", "--backend", "backend_name", default="default", show_default=True,
              help="Name of the backend in the config's backends: section.")
@click.option("--span", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds of history to generate, ending now (default: mock.span, else 3600).")
@click.option("--follow", is_flag=True, help="Then keep writing live data every --interval seconds until stopped.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="With --follow: stop after this many seconds (default: until SIGINT/SIGTERM).")
def fill_cmd(config_path: str, backend_name: str, span: float | None, follow: bool, interval: float,
             duration: float | None) -> None:
    """Write generated data for every schema of the config into a backend (demo data, test loads)."""
    from .mock import feed
    from .timeutil import gps_now

    cfg = load_config_or_exit(config_path)
    span = span or float((cfg.mock or {}).get("span", 3600))
    store = _open_backend(cfg, backend_name)
    try:
        end = gps_now()
        fed = feed.feed(cfg, store, end - span, end)
        _print_latest(store, fed)
        if follow:
            click.echo(f"writing live data every {interval:g} s; Ctrl-C to stop", err=True)
            feed.follow(cfg, store, end, interval, stop_after=duration)
    finally:
        store.close()


def _setup_logging(verbose: int) -> None:
    """One line per event, UTC timestamps (never local time)."""
    import logging
    import time

    handler = logging.StreamHandler()
    formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose > 1 else logging.WARNING)


@monitor.command("run")
@config_option()
@click.option("--once", is_flag=True, help="Run every check one time, write the outputs and exit.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop (cleanly, exit 0) after this many seconds; for demos and tests.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Expose the daemon's own health for Prometheus at http://ADDRESS:PORT/metrics.")
@click.option("--metrics-address", default="127.0.0.1", show_default=True,
              help="Address the metrics listener binds to (with --metrics-port).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv: debug).")
def run_cmd(config_path: str, once: bool, duration: float | None, metrics_port: int | None,
            metrics_address: str, verbose: int) -> None:
    """Evaluate the checks on their schedule and publish results (status files, Nagios, Icinga 2).

    Exit status: 0 when the run completed, whatever states the checks reached; 2 for a bad configuration or a
    metrics port that cannot be bound; 1 when the run itself failed. SIGTERM/SIGINT stop it cleanly, SIGHUP
    reloads the configuration.
    """
    _setup_logging(verbose)
    cfg = load_config_or_exit(config_path)
    import logging

    from .daemon import Daemon, Runner, unwritable_outputs

    problems, usable = unwritable_outputs(cfg)
    if not usable:
        click.echo(f"scald-monitor run: nothing can be written: {'; '.join(problems)}", err=True)
        sys.exit(2)
    for problem in problems:
        logging.getLogger("scald_monitor.daemon").error("%s (the other outputs go on)", problem)
    if not once:
        metrics = None
        if metrics_port is not None:
            from .metrics import DaemonMetrics

            metrics = DaemonMetrics()
            try:
                metrics.serve(metrics_port, metrics_address)
            except OSError as exc:
                click.echo(f"scald-monitor run: cannot listen for metrics on {metrics_address}:{metrics_port}: "
                           f"{exc.strerror or exc}", err=True)
                sys.exit(2)
            logging.getLogger("scald_monitor.daemon").info("metrics at http://%s:%d/metrics", metrics_address,
                                                           metrics_port)
        sys.exit(Daemon(config_path, cfg, metrics=metrics).serve(duration))
    try:
        runner = Runner(cfg)
        statuses = runner.run_all()
        runner.close(drain=NOTIFY_DRAIN_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the run itself failed (e.g. outputs not writable)
        click.echo(f"scald-monitor run: {exc}", err=True)
        sys.exit(1)
    for status in statuses:
        click.echo(status.result.first_line())


@monitor.command("check")
@config_option()
@click.argument("name")
def check_cmd(config_path: str, name: str) -> None:
    """Evaluate one check now, print the plugin output and exit with its state (0/1/2/3).

    A bad configuration or an unknown check is UNKNOWN (3), as a Nagios plugin reports it.
    """
    from .config import ConfigError, load

    try:
        cfg = load(config_path)
    except ConfigError as exc:
        click.echo(f"SCALD UNKNOWN - bad configuration: {exc.problems[0]}")
        sys.exit(3)
    if name not in cfg.checks:
        known = ", ".join(sorted(cfg.checks)) or "none"
        click.echo(f"SCALD UNKNOWN - no check named {name!r} in {config_path} (known: {known})")
        sys.exit(3)
    from .rules.run import evaluate_check

    result = evaluate_check(cfg, name)
    click.echo(result.plugin_output())
    sys.exit(result.state)


@monitor.command("backtest")
@config_option()
@click.argument("name")
@click.option("--start", default=None, metavar="T", help="Window start: GPS seconds or ISO UTC (2024-05-01T00:00Z).")
@click.option("--end", default=None, metavar="T", help="Window end: GPS seconds or ISO UTC (with --last: default now).")
@click.option("--last", default=None, metavar="DURATION", help="The window of this length ending at --end or now: "
              "90m, 12h, 7d.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Try another value of a check key without editing the file (repeatable): --set warning=~:12.")
@click.option("--compare", "compares", multiple=True, metavar="KEY=VALUE",
              help="A second group of settings (on the file's, repeatable), replayed and printed beside the first.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--plot", default=None, type=click.Path(dir_okay=False), metavar="FILE.svg",
              help="Also draw the checked value per tag, the warning/critical bands and the states as an SVG.")
def backtest_cmd(config_path: str, name: str, start: str | None, end: str | None, last: str | None,
                 sets: tuple[str, ...], compares: tuple[str, ...], fmt: str, plot: str | None) -> None:
    """Replay check NAME over stored history, through the daemon's own rules and state machine.

    Prints every reported-state change and a summary (time in each state, notifications, flapping, the longest
    problem). Exit status: 0 done; 2 usage or configuration error; 3 no data in the window (as the plugin would).
    """
    cfg = load_config_or_exit(config_path)
    from .backtest import command

    sys.exit(command(cfg, name, start, end, last, sets, compares, fmt, plot))


def _lifecycle_store(cfg):
    """The ack/downtime file beside the state file the daemon uses (exit 2 when the config has none)."""
    from .lifecycle.store import LifecycleStore

    state_file = cfg.outputs.get("state_file")
    if not state_file:
        click.echo(f"{cfg.path}: outputs.state_file is not set: acknowledgements and downtimes are kept beside it",
                   err=True)
        sys.exit(2)
    return LifecycleStore(LifecycleStore.beside(state_file))


def _tag_label(cfg, check: str, tags: tuple[str, ...]) -> str:
    """--tag k=v (repeatable) as the rules' label of CHECK ("job=0003,ifo=H1", in its measurement's tag order
    whatever the order given); exit 2 for a malformed one or a tag the measurement does not have."""
    from .lifecycle.windows import tag_label, tag_pairs

    try:
        given = tag_pairs(tags)
        spec = cfg.schemas.get(cfg.checks[check].schema) if check in cfg.checks else None
        return tag_label(spec.tags if spec is not None else tuple(given), given)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tag") from None


def _known_check(cfg, name: str) -> None:
    if name not in cfg.checks:
        known = ", ".join(sorted(cfg.checks)) or "none"
        click.echo(f"no check named {name!r} in {cfg.path} (known: {known})", err=True)
        sys.exit(2)


def _author(author: str | None) -> str:
    import getpass

    try:
        return author or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return author or ""


@monitor.command("ack")
@config_option()
@click.argument("check")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="Acknowledge one tag value (repeatable "
              "for a several-tag label); without, the check as a whole (its tags included).")
@click.option("--comment", required=True, help="Why, for whoever looks next.")
@click.option("--author", default=None, help="Who (default: the login name).")
@click.option("--expire", default=None, metavar="T", help="Ends at T (GPS seconds or ISO UTC) if not earlier.")
@click.option("--sticky", is_flag=True, help="Until the check is OK again (default: until its next state change).")
def ack_cmd(config_path: str, check: str, tags: tuple[str, ...], comment: str, author: str | None,
            expire: str | None, sticky: bool) -> None:
    """Acknowledge CHECK's problem: no repeat notifications, shown on the board, the API and the status file.

    As in Nagios: a sticky acknowledgement lasts until the check is OK, another one until its next state change.
    """
    from .lifecycle.windows import parse_time

    cfg = load_config_or_exit(config_path)
    _known_check(cfg, check)
    try:
        until = parse_time(expire, "--expire") if expire is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[-1], param_hint="--expire") from None
    ack = _lifecycle_store(cfg).ack(check, _tag_label(cfg, check, tags), comment=comment, author=_author(author),
                                    sticky=sticky, expire=until)
    click.echo(f"acknowledged {check}{f'[{ack.label}]' if ack.label else ''}"
               f"{' (sticky)' if ack.sticky else ''}: {ack.comment}")


@monitor.command("unack")
@config_option()
@click.argument("check")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="The tag value acknowledged.")
def unack_cmd(config_path: str, check: str, tags: tuple[str, ...]) -> None:
    """Remove CHECK's acknowledgement (exit 1 when there was none)."""
    cfg = load_config_or_exit(config_path)
    _known_check(cfg, check)
    if not _lifecycle_store(cfg).unack(check, _tag_label(cfg, check, tags)):
        click.echo(f"{check}: nothing acknowledged", err=True)
        sys.exit(1)
    click.echo(f"{check}: acknowledgement removed")


@monitor.group("downtime")
def downtime_group() -> None:
    """Ad hoc downtimes (kept beside the state file; the config's downtimes: are listed too)."""


@downtime_group.command("add")
@config_option()
@click.argument("check")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="Only this tag value (repeatable).")
@click.option("--start", default=None, metavar="T", help="GPS seconds or ISO UTC (default: now).")
@click.option("--end", default=None, metavar="T", help="GPS seconds or ISO UTC.")
@click.option("--duration", default=None, metavar="DURATION", help="Instead of --end: 90m, 2h, 1d.")
@click.option("--comment", required=True, help="Why.")
@click.option("--author", default=None, help="Who (default: the login name).")
def downtime_add_cmd(config_path: str, check: str, tags: tuple[str, ...], start: str | None, end: str | None,
                     duration: str | None, comment: str, author: str | None) -> None:
    """Put CHECK (a name, a pattern such as 'range_*', or '*') in downtime: still evaluated and recorded, no
    notification, and every output says "in downtime until ..."."""
    from .lifecycle.windows import parse_label
    from .timeutil import gps_now

    cfg = load_config_or_exit(config_path)
    if "*" not in check and "?" not in check and "[" not in check:
        _known_check(cfg, check)
    if (end is None) == (duration is None):
        raise click.UsageError("give --end or --duration (one of them)")
    label = parse_label(_tag_label(cfg, check, tags))
    entry = {"checks": [check], "start": start if start is not None else gps_now(), "comment": comment,
             "author": _author(author), **({"end": end} if end is not None else {"duration": duration}),
             **({"tags": {k: [v] for k, v in label.items()}} if label else {})}
    try:
        down = _lifecycle_store(cfg).add_downtime(entry)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"downtime {down.id}: {check} {down.describe(down.start) or 'scheduled'}")


@downtime_group.command("list")
@config_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def downtime_list_cmd(config_path: str, fmt: str) -> None:
    """The config's downtimes and the ad hoc ones, with whether each is in effect now."""
    import json

    from .timeutil import gps_now

    cfg = load_config_or_exit(config_path)
    now = gps_now()
    store = _lifecycle_store(cfg) if cfg.outputs.get("state_file") else None
    rows = [("config", d) for d in cfg.downtimes] + [("ad hoc", d) for d in (store.downtimes() if store else [])]
    if fmt == "json":  # the API's GET /api/downtimes entries
        click.echo(json.dumps([{"source": src, **d.view(now)} for src, d in rows]))
        return
    for src, d in rows:
        ident = f"#{d.id}" if d.id is not None else (d.name or "-")
        click.echo(f"{ident:<12} {src:<7} {','.join(d.checks):<24} {d.describe(now) or 'not now'}")


@downtime_group.command("remove")
@config_option()
@click.argument("ident")
def downtime_remove_cmd(config_path: str, ident: str) -> None:
    """Remove ad hoc downtime IDENT (as downtime list shows it; the config's are edited in the file)."""
    cfg = load_config_or_exit(config_path)
    if not _lifecycle_store(cfg).remove_downtime(ident.lstrip("#")):
        click.echo(f"no ad hoc downtime {ident}", err=True)
        sys.exit(1)
    click.echo(f"downtime {ident} removed")


@monitor.group("token")
def token_group() -> None:
    """Bearer tokens for scald serve's write routes (serve.tokens_file; kept hashed)."""


def _on_tokens(config_path: str, action: str, *args: str):
    """``(the config's TokenFile, what its ``action`` returned)``; exit 2 without serve.tokens_file or when the
    file or the name is refused (TokenFileError is a ValueError), naming the problem."""
    from .lifecycle.tokens import TokenFile

    cfg = load_config_or_exit(config_path)
    path = cfg.serve.get("tokens_file")
    if not path:
        click.echo(f"{cfg.path}: serve.tokens_file is not set: name the file the tokens are kept in", err=True)
        sys.exit(2)
    tokens = TokenFile(path)
    try:
        return tokens, getattr(tokens, action)(*args)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@token_group.command("add")
@config_option()
@click.argument("name")
def token_add_cmd(config_path: str, name: str) -> None:
    """Make a token for NAME (who writes, in every log line) and print it: the only time it is shown."""
    tokens, token = _on_tokens(config_path, "add", name)
    click.echo(token)
    click.echo(f"token {name!r} added to {tokens.path} (kept hashed: copy it now; send it as "
               "'Authorization: Bearer TOKEN')", err=True)


@token_group.command("list")
@config_option()
def token_list_cmd(config_path: str) -> None:
    """The names of the tokens (the tokens themselves are not kept)."""
    for name in _on_tokens(config_path, "names")[1]:
        click.echo(name)


@token_group.command("remove")
@config_option()
@click.argument("name")
def token_remove_cmd(config_path: str, name: str) -> None:
    """Revoke NAME's token (scald serve stops taking it within a request)."""
    tokens, removed = _on_tokens(config_path, "remove", name)
    if not removed:
        click.echo(f"no token named {name!r} in {tokens.path}", err=True)
        sys.exit(1)
    click.echo(f"token {name!r} removed")


@monitor.command("nagios-config")
@config_option()
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), default=None,
              help="Directory to write commands.cfg, hosts.cfg and services.cfg into (default: print to stdout).")
@click.option("--mode", type=click.Choice(["active", "passive"]), default=None,
              help="passive: the daemon pushes results, Nagios checks freshness; active: Nagios runs check_scald "
                   "on the status files. Default: passive when outputs.nagios_command_file is set, else active.")
@click.option("--plugin", "plugin", default=None, metavar="PATH",
              help="check_scald to write into the commands (default: the one next to this Python, else on PATH).")
@click.option("--status-url-base", default=None, metavar="URL",
              help="Active mode: read status documents from URL/<check> (e.g. http://host/api/nagios) "
                   "instead of outputs.status_dir.")
@click.option("--interval-length", type=click.FloatRange(min=0, min_open=True), default=60, show_default=True,
              help="Seconds per Nagios interval unit (Nagios's interval_length); intervals are rounded up to it.")
@click.option("--no-host", is_flag=True, help="Do not define the host (it is already defined in your Nagios config).")
def nagios_config_cmd(config_path: str, outdir: str | None, mode: str | None, plugin: str | None,
                      status_url_base: str | None, interval_length: float, no_host: bool) -> None:
    """Write Nagios object definitions (commands, host, one service per check) to include with cfg_dir=.

    Exit 2 for a bad configuration or a name or path Nagios would refuse.
    """
    import os

    from .nagios_config import NagiosConfigError, default_mode, find_plugin, render, write_files

    cfg = load_config_or_exit(config_path)
    mode = mode or default_mode(cfg)
    try:
        plugin_path = find_plugin(plugin)
        if not os.access(plugin_path, os.X_OK):
            click.echo(f"warning: {plugin_path} is not an executable file here; Nagios must find it there", err=True)
        files = render(cfg, mode, plugin_path, status_url_base=status_url_base,
                       interval_length=interval_length, include_host=not no_host,
                       outdir=os.path.abspath(outdir) if outdir else None)
    except NagiosConfigError as exc:
        click.echo(f"scald-monitor nagios-config: {config_path}: {exc}", err=True)
        sys.exit(2)
    if outdir is None:
        click.echo("\n".join(files.values()), nl=False)
        return
    for path in write_files(files, outdir):
        click.echo(f"wrote {path}", err=True)
    click.echo(f"include it in nagios.cfg with: cfg_dir={os.path.abspath(outdir)}", err=True)


@scald.command("mock")
@config_option(required=False)
@click.option("--hostname", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8086, show_default=True,
              help="Port to listen on; 0 picks a free one (the URL is printed on start-up).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Generator seed (default: mock.seed, else 0).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Raw samples per second per series (default: mock.rate, else 1).")
@click.option("-v", "--verbose", count=True, help="Log every request (-v).")
def mock_cmd(config_path: str | None, hostname: str, port: int, seed: int | None, rate: float | None,
             verbose: int) -> None:
    """Serve generated data over the InfluxDB 1.x HTTP API (/ping, /query, /write).

    Every measurement of the config's schemas answers (without a config: any measurement, one field `data`, tag
    `job` = 0000..0009), with deterministic data: the same query always gets the same points. Retention policy
    "<dt>s" holds min/median/max per dt-second bucket (tag `aggregate`), the default one the raw samples.
    Trigger schemas (far_key, or drawn by an IFAR plot) answer in ligo-scald's layout: the lowest-FAR trigger of
    each second in the nested policies "0.01_hz" ... "1e-07_hz"; schemas drawn as a Snapshot hold a PSD-like
    snapshot (string fields data/dims) every 60 s in the default policy.

    The mock is STATELESS: /write validates line protocol (400 for a bad line) and discards the points, CREATE/DROP
    succeed and change nothing, and every database holds the same data. SIGTERM or Ctrl-C stops it.
    """
    import logging
    import signal

    from .mock.server import make_server
    from .mock.source import MockSource

    _setup_logging(verbose + 1)
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)
    if config_path:
        source = MockSource.from_config(load_config_or_exit(config_path), seed=seed, rate=rate)
    else:
        source = MockSource(rate=rate or 1.0, seed=seed or 0)
    try:
        server = make_server(source, hostname, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {hostname}:{port}: {exc.strerror or exc}") from None

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    what = (f"{len(source.measurement_names())} measurement(s)" if source.measurements is not None
            else "any measurement")
    click.echo(f"scald mock: InfluxDB 1.x API on {server.url} ({what}, {source.rate:g} Hz, seed {source.seed}; "
               "stateless: writes are validated and discarded)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@scald.command("report")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Report configuration (ligo-scald's format: report: {title, tabs: [...]}).")
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory to write the site into (created as needed).")
@click.option("--allow-external-links", is_flag=True, hidden=True,
              help="Accepted for old scripts; tab links may point off-site without it.")
def report_cmd(config_path: str, outdir: str, allow_external_links: bool) -> None:
    """Build a static offline HTML report: index.html (first tab) and one page per content tab.

    Plots are drawn as inline SVG and tables as HTML, so the pages need no JavaScript, no server and no internet
    (they open from file://). Referenced files are copied into DIR/images and DIR/data and linked relatively;
    tabs with a url are links (on-site or off-site, as in ligo-scald).
    Exit 2, listing every problem (file:line: key: problem), when the configuration or a data file is bad.
    """
    from .report import ConfigError, run

    try:
        written = run(config_path, outdir)
    except ConfigError as exc:
        _exit_with_problems(config_path, exc)
    except OSError as exc:
        raise click.ClickException(f"cannot write the report into {outdir}: {exc}") from None
    for path in written:
        click.echo(f"wrote {path}", err=True)


@scald.command("deploy")
@config_option()
@click.option("-o", "--output-dir", "outdir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The web root to deploy into, e.g. ~/public_html (created as needed).")
@click.option("-n", "--application-name", "name", default="scald", show_default=True,
              help="Name of the CGI script (cgi-bin/NAME) and of the WSGI file (NAME.wsgi).")
@click.option("-e", "--cgi-ext", "--with-cgi-extension", "cgi_ext", is_flag=True,
              help="Name the CGI script NAME.cgi (for servers that run CGI by extension).")
@click.option("--static-url", default=None, metavar="URL",
              help="Where the web server serves OUTPUT_DIR/static (default: found from the script's own URL, "
                   "e.g. /~user/cgi-bin/NAME -> /~user/static).")
def deploy_cmd(config_path: str, outdir: str, name: str, cgi_ext: bool, static_url: str | None) -> None:
    """Install the dashboard into an Apache-style web root: cgi-bin/NAME (CGI), NAME.wsgi (mod_wsgi), static/.

    The configuration is checked first (exit 2 listing every problem) and its absolute path is written into the
    scripts, so they work whatever directory and environment the web server runs them in.
    """
    from .deploy import DeployError, deploy

    cfg = load_config_or_exit(config_path)
    try:
        result = deploy(cfg, outdir, name=name, cgi_ext=cgi_ext, static_url=static_url)
    except DeployError as exc:
        click.echo(f"scald deploy: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        raise click.ClickException(f"cannot deploy into {outdir}: {exc}") from None
    for line in result.summary():
        click.echo(line, err=True)


@scald.command("serve")
@config_option()
@click.option("--hostname", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 or :: for every interface).")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on; 0 picks a free one (the URL is printed on start-up).")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests served at the same time (waitress worker threads).")
@click.option("--debug", is_flag=True,
              help="Flask's development server with its debugger: never on a network others can reach.")
def serve_cmd(config_path: str, hostname: str, port: int, threads: int, debug: bool) -> None:
    """Serve the dashboard and its JSON API (/api/..., described at /api/openapi.json).

    Production server: waitress (threaded). Data is read through read-only connections (a missing SQLite file is
    never created); check results come from the daemon's status files. SIGTERM or Ctrl-C stops it.
    """
    import signal

    _setup_logging(2 if debug else 1)
    cfg = load_config_or_exit(config_path)
    from .serve.server import run

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        raise KeyboardInterrupt

    def ready(url: str) -> None:
        click.echo(f"scald serve: dashboard on {url} (API: {url}api/openapi.json; {threads} threads)")
        sys.stdout.flush()

    signal.signal(signal.SIGTERM, stop)
    from .lifecycle.tokens import TokenFileError

    try:
        run(cfg, hostname, port, threads=threads, debug=debug, ready=ready)
    except TokenFileError as exc:
        click.echo(f"{cfg.path}: serve.tokens_file: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {hostname}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
