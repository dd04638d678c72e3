"""What every test fixture that runs a server needs: a free loopback port, and a stop that cannot hang."""
from __future__ import annotations

import os
import signal
import socket
import subprocess

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (bound to 0 and released; the caller retries if it is taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop_process(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM by PID, wait up to ``timeout`` s, then SIGKILL; nothing to do for a process that has ended."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
