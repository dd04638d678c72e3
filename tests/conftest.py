"""Shared pytest fixtures. Each fixture family lives in its own clearly marked section."""
from __future__ import annotations

import pytest


# ===================================================================================================================
# Nagios 4 core (tests/nagios_fixture.py): a real Nagios in a temp dir, stopped by its PID at the end of the test.
# ===================================================================================================================

@pytest.fixture
def nagios(tmp_path):
    """A configured, not yet started Nagios 4 (``NagiosCore``): write objects into ``nagios.objects_dir``, then
    ``nagios.start()``. Not started here because the objects usually need ``nagios.command_file`` first.

    Fails (does not skip) when Nagios is not installed: `.ci/run` installs nagios4-core.
    """
    from nagios_fixture import NagiosCore, nagios_binary

    binary = nagios_binary()
    if binary is None:
        pytest.fail("nagios4 is not installed (apt-get install nagios4-core monitoring-plugins-basic; "
                    "bash .ci/run does it)")
    core = NagiosCore(tmp_path / "nagios", binary)
    try:
        yield core
    finally:
        core.stop()


# ===================================================================================================================
# InfluxDB 1.x (tests/influxd_fixture.py): one real influxd per session on 127.0.0.1, free ports, temp data dir.
# ===================================================================================================================

@pytest.fixture(scope="session")
def influxd(tmp_path_factory):
    """A running ``influxd`` (``InfluxD``): ``url``, ``host``, ``port``, ``pid``, ``query(q, db)``, ``write(...)``,
    and ``stop()``/``start()`` to simulate an outage (same data dir and port). Stopped by PID at the end.

    Fails (does not skip) when InfluxDB is not installed: `.ci/run` installs the Debian `influxdb` package.
    """
    from influxd_fixture import InfluxD, influxd_binary

    binary = influxd_binary()
    if binary is None:
        pytest.fail("influxd is not installed (apt-get install influxdb; bash .ci/run does it)")
    server = InfluxD(tmp_path_factory.mktemp("influxd"), binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def influx_db(influxd):
    """A fresh, unique database name on the session's influxd (not created: the code under test does that, or
    the test does); dropped afterwards. Restarts the server first if an earlier test left it stopped."""
    import uuid

    influxd.start()
    name = f"test_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        if not influxd.running():
            influxd.start()
        influxd.query(f'DROP DATABASE "{name}"')


# ===================================================================================================================
# Icinga 2 (tests/icinga_fixture.py): one real icinga2 per session on 127.0.0.1, own CA, free port, temp dir.
# ===================================================================================================================

@pytest.fixture(scope="session")
def icinga(tmp_path_factory):
    """A running Icinga 2 (``Icinga2``): ``base`` (https://127.0.0.1:PORT), ``ca``, ``api()``, ``add_service()``,
    ``result()``, ``wait_for()``. Tests create their own services (unique names). Stopped by PID at the end.

    Fails (does not skip) when Icinga 2 is not installed: `.ci/run` installs the Debian `icinga2` package.
    """
    from icinga_fixture import Icinga2, icinga2_binary

    binary = icinga2_binary()
    if binary is None:
        pytest.fail("icinga2 is not installed (apt-get install --no-install-recommends icinga2; "
                    "bash .ci/run does it)")
    server = Icinga2(tmp_path_factory.mktemp("icinga2"), binary)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# ===================================================================================================================
# A filled SQLite store beside its config, as the commands find them: one way for every test that needs one.
# ===================================================================================================================

@pytest.fixture(scope="session")
def make_store():
    """``make_store(directory, config_text, data) -> directory``: writes ``directory/scald.yml`` (whose backend is
    ``{backend: sqlite, path: store.sqlite}``), registers every schema of it on an Aggregator at
    ``directory/store.sqlite``, stores ``data`` (``{measurement: store_columns data}``, in order) and closes the
    store, so that readers see it whole. Session-scoped: usable from module-scoped fixtures too."""
    from pathlib import Path

    from scald_monitor.io.sqlite import Aggregator
    from scald_monitor.schema_loader import register_schemas

    def make(directory, config: str, data=None) -> Path:
        directory = Path(directory)
        (directory / "scald.yml").write_text(config)
        agg = Aggregator(path=directory / "store.sqlite")
        try:
            register_schemas(agg, str(directory / "scald.yml"))
            for measurement, columns in (data or {}).items():
                agg.store_columns(measurement, columns)
        finally:
            agg.close()
        return directory

    return make
