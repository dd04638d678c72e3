"""Where check results go: status JSON files, the Nagios external command file, the Icinga 2 API.

Submodules are imported by name (``scald_monitor.outputs.status`` …), never from here, so that the ``check_scald``
plugin can read status files without importing ``requests``.
"""


class OutputError(Exception):
    """A result could not be delivered to an output (e.g. the Icinga 2 API refused it or was unreachable).

    The message is one line, names the destination and never contains a secret.
    """
