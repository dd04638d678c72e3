"""scald-monitor: store, decimate and alert on timeseries from data pipelines.

Kept import-light on purpose: the CLI and the Nagios plugin import this package on every start-up.
"""

__version__ = "0.1.0"
