"""Fake data source: deterministic, seekable timeseries for any schema, and triggers and snapshots as ligo-scald
stores them (``generate``), served over InfluxDB 1.x's HTTP API by ``scald mock`` (``server``, ``source``).

Nothing is imported here on purpose (``generate`` needs numpy); import ``scald_monitor.mock.generate`` directly.
"""
