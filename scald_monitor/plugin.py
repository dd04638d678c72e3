"""``check_scald``: the Nagios plugin entry point.

Nagios forks this for every check, so it imports only the standard library modules it needs; everything heavier is
imported lazily inside the mode that needs it.
"""
from __future__ import annotations

import sys

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3

USAGE = """\
Usage: check_scald [-h] [-V] [-v] [-t SECONDS] [--config FILE] --check NAME
       check_scald --status-file PATH|URL [--max-age SECONDS]
       check_scald --config FILE --measurement M --column C [--tag k=v ...]
                   [--aggregate max] [--lookback S] [--heartbeat] -w RANGE -c RANGE

Nagios plugin for scald-monitor: reports the state of a configured check, of a status JSON
document, or of an ad-hoc threshold on stored data. Exit codes: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN. The configuration comes from --config or $SCALDRC_PATH (-c means --critical, as in
every Nagios plugin).
"""


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; any problem ends in UNKNOWN (3) with a one-line reason, never a traceback."""
    from . import __version__

    args = sys.argv[1:] if argv is None else argv
    if not args or "-h" in args or "--help" in args:
        sys.stdout.write(USAGE)
        return OK if args else UNKNOWN
    if "-V" in args or "--version" in args:
        sys.stdout.write(f"check_scald {__version__}\n")
        return OK
    sys.stdout.write("SCALD UNKNOWN - check modes are not available in this version\n")
    return UNKNOWN


if __name__ == "__main__":
    sys.exit(main())
