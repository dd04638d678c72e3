"""Atomic, durable file replacement: readers and crashes see the old file or the new one, whole, never a mix.

Used for the status documents and the state file, which Nagios, the plugin and the dashboard read while the daemon
rewrites them, and which a kill -9 must never leave half-written.
"""
from __future__ import annotations

import os
import tempfile


def write_atomic(path: str, data: bytes, tmp_dir: str | None = None, mode: int | None = None) -> None:
    """Replace ``path`` with ``data``: temp file (in ``tmp_dir``, default the same directory) + fsync + rename.

    ``tmp_dir`` must be on the same file system; it lets a directory that must hold nothing but the final files
    (the status directory) stay clean. ``mode`` defaults to the old file's mode, else 0644 (mkstemp's 0600 would
    hide the file from a web server or plugin running as another user).
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    tmp_dir = os.path.abspath(tmp_dir) if tmp_dir else directory
    os.makedirs(directory, exist_ok=True)
    os.makedirs(tmp_dir, exist_ok=True)
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_directory(directory)


def check_writable(directory: str, tmp_dir: str | None = None) -> None:
    """Raise OSError unless ``write_atomic`` could write into ``directory`` (with ``tmp_dir``): both are created
    as it would create them and a temp file is made and removed where it would make one, so a kill at any moment
    leaves nothing but a temp file of the kind ``write_atomic`` may leave."""
    tmp_dir = os.path.abspath(tmp_dir) if tmp_dir else os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    os.makedirs(tmp_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".probe.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)


def fsync_directory(directory: str) -> None:
    """Make a rename durable; some file systems cannot fsync a directory, which is no reason to fail the write."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
