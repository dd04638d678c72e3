"""Fake data source: deterministic, seekable timeseries for any schema (``generate``).

Nothing is imported here on purpose (``generate`` needs numpy); import ``scald_monitor.mock.generate`` directly.
"""
