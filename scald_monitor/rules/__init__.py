"""Alerting rules: Nagios threshold ranges, threshold and heartbeat evaluation, per-check state."""
