"""Command-line entry points: ``scald`` (data and web side) and ``scald-monitor`` (alerting side).

Subcommands import their heavy modules inside the function body so that ``--help`` and quick commands start fast.
"""
from __future__ import annotations

import sys

import click

from . import __version__

CONFIG_HELP = "YAML configuration file (default: $SCALDRC_PATH)."


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
        for problem in exc.problems:
            click.echo(str(problem), err=True)
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
