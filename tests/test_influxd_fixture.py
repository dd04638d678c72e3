"""Smoke test of the ``influxd`` fixture itself: a point written comes back, and survives a stop/start."""
from __future__ import annotations

import os

import requests


def test_write_read_restart(influxd, influx_db):
    assert influxd.host == "127.0.0.1" and influxd.url == f"http://127.0.0.1:{influxd.port}"
    ping = requests.get(f"{influxd.url}/ping", timeout=5)
    assert ping.status_code == 204 and ping.headers["X-Influxdb-Version"].startswith("1.")

    assert "error" not in influxd.query(f'CREATE DATABASE "{influx_db}"')["results"][0]
    resp = influxd.write("lat,job=0001 data=1.5 1500000000000000000", influx_db)
    assert resp.status_code == 204, resp.text
    query = 'SELECT "data" FROM "lat" WHERE job = \'0001\''
    expected = [{"name": "lat", "columns": ["time", "data"], "values": [[1500000000000000000, 1.5]]}]
    assert influxd.query(query, influx_db, epoch="ns")["results"][0]["series"] == expected

    old_pid, port = influxd.pid, influxd.port
    influxd.stop()
    assert influxd.pid is None and not influxd.running()
    try:
        os.kill(old_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    try:
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=2)
        refused = False
    except requests.ConnectionError:
        refused = True
    assert refused, "the port still answers after stop()"

    influxd.start()
    assert influxd.port == port and influxd.pid != old_pid
    assert influxd.query(query, influx_db, epoch="ns")["results"][0]["series"] == expected
