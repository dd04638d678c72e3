"""Every file scald-monitor writes goes through one writer, ``atomic.write_atomic`` (temp file, fsync, rename):
a crash or a failed write leaves the old file whole and no temp file behind, and the new file gets its mode."""
from __future__ import annotations

import os
import stat
import sys
from types import SimpleNamespace

import pytest

from scald_monitor.deploy import deploy
from scald_monitor.nagios_config import write_files
from scald_monitor.outputs.status import write_status


def _nagios(tmp_path, text):
    return write_files({"services.cfg": text}, str(tmp_path / "nagios"))[0]


def _deploy_cgi(tmp_path, text):
    return str(deploy(SimpleNamespace(path=text), tmp_path / "public_html", python=sys.executable).cgi)


def _deploy_wsgi(tmp_path, text):
    return str(deploy(SimpleNamespace(path=text), tmp_path / "public_html", python=sys.executable).wsgi)


def _status(tmp_path, text):
    return write_status(str(tmp_path / "status"), "check", {"text": text})


# (writer(tmp_path, text) -> path written, mode of the new file)
WRITERS = {"nagios-config": (_nagios, 0o644), "deploy-cgi": (_deploy_cgi, 0o755),
           "deploy-wsgi": (_deploy_wsgi, 0o644), "status": (_status, 0o644)}


def _files(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


@pytest.mark.parametrize("name", WRITERS)
def test_a_write_that_fails_before_its_rename_leaves_the_old_file_and_no_temp(name, tmp_path, monkeypatch):
    writer, mode = WRITERS[name]
    path = writer(tmp_path, "/first/scald.yml")
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    before = open(path, "rb").read()
    files = _files(tmp_path)

    def full_disk(fd):  # the data could not be made durable: the rename must not happen
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        writer(tmp_path, "/second/scald.yml")
    monkeypatch.undo()
    assert open(path, "rb").read() == before and "/first/scald.yml" in before.decode()
    assert _files(tmp_path) == files  # no temp file left anywhere
    writer(tmp_path, "/second/scald.yml")
    assert "/second/scald.yml" in open(path, encoding="utf-8").read()
    assert stat.S_IMODE(os.stat(path).st_mode) == mode and _files(tmp_path) == files
