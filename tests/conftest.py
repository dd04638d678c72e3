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
