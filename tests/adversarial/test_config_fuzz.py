"""Configurations mangled at random: every answer is exit 0 or 2, every problem names FILE:LINE, in bounded time.

Mutations of the shipped examples (keys renamed, values replaced with wrong types, hostile strings, lines
deleted or duplicated, indentation broken) go through ``load`` in-process (fast, many) and a few through
``scald-monitor validate`` (the real command: exit code and output). A 200,000-key file and an oversized file
must be refused quickly, with a bounded number of lines.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scald_monitor.config import MAX_CONFIG_BYTES, MAX_PROBLEMS, ConfigError, load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCES = [EXAMPLES / "quickstart.yml", EXAMPLES / "ligo-scald-style.yml"]
HOSTILE = ["", "~", "null", "[]", "{}", "-1", "1e400", ".nan", "'\\n'", '"a\\nb"', "yes", "0x1F", "&a", "*a",
           "!!python/object:os.system", "'<script>'", "'; DROP'", "'\\u0000'", "[[job, 1], [2]]", "{x: {y: {z: 1}}}",
           "'١٢٣'", "'" + "x" * 500 + "'", "2000-01-01", "'%0A'", "-", "? x", "|-\n  multi"]


EXE = shutil.which("scald-monitor", path=os.path.dirname(sys.executable)) or shutil.which("scald-monitor")


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        line = lines[i]
        kind = rng.randrange(6)
        if kind == 0 and ":" in line:  # replace a value
            key = line.split(":", 1)[0]
            lines[i] = f"{key}: {rng.choice(HOSTILE)}"
        elif kind == 1 and ":" in line:  # rename a key (a typo, or garbage)
            key, rest = line.split(":", 1)
            stripped = key.strip()
            new = rng.choice([stripped[:-1], stripped + "s", stripped.upper(), "k\u00e9y", "x" * 40, "1abc"])
            lines[i] = key[: len(key) - len(stripped)] + (new or "k") + ":" + rest
        elif kind == 2:
            del lines[i]
        elif kind == 3:
            lines.insert(i, line)
        elif kind == 4:
            lines[i] = " " * rng.randint(0, 7) + line.lstrip()
        else:
            lines[i] = line + rng.choice([" #", ": x", " - y", "\t", "  ]", " {"])
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_random_mutations_load_or_give_located_problems(tmp_path):
    rng = random.Random(20261202)
    tried = problems_seen = 0
    started = time.monotonic()
    for i in range(1500):
        source = SOURCES[i % len(SOURCES)]
        path = tmp_path / f"m{i % 10}.yml"
        path.write_text(mutate(source.read_text(), rng))
        tried += 1
        try:
            load(str(path))
        except ConfigError as exc:
            assert exc.problems, "a ConfigError names at least one problem"
            n_lines = path.read_text().count("\n") + 1
            for problem in exc.problems:
                text = str(problem)
                assert re.match(rf"{re.escape(str(path))}:\d+: .+", text), text  # FILE:LINE: every time
                assert problem.line is not None and 1 <= problem.line <= n_lines, text
            problems_seen += len(exc.problems)
    elapsed = time.monotonic() - started
    print(f"\nadversarial: {tried} mutated configs, {problems_seen} problems, 0 tracebacks, {elapsed:.1f} s")
    assert elapsed < 120


@pytest.mark.parametrize("seed", range(6))
def test_the_command_exits_0_or_2_without_a_traceback(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "scald.yml"
    path.write_text(mutate(SOURCES[seed % 2].read_text(), rng))
    out = subprocess.run([EXE, "validate", "-c", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (0, 2), out
    assert "Traceback" not in out.stderr + out.stdout


@pytest.mark.slow
def test_a_huge_number_of_problems_is_bounded_in_time_and_output(tmp_path):
    keys = "\n".join(f"    k{i}: {i}" for i in range(60_000))  # ~1 MB: under the size bound, 60k unknown keys
    path = tmp_path / "many.yml"
    path.write_text("schemas:\n  s: {column: data}\nchecks:\n  c:\n    type: heartbeat\n    schema: s\n"
                    "    critical: 10\n" + keys + "\n")
    started = time.monotonic()
    out = subprocess.run([EXE, "validate", "-c", str(path)],
                         capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert len(lines) == MAX_PROBLEMS + 2, len(lines)  # the problems shown, the count of the rest, the total
    assert lines[-2] == f"... and {60_000 - MAX_PROBLEMS} more problems"
    assert lines[-1] == f"{path}: 60000 problem(s) found"
    assert lines[0].startswith(f"{path}:8: checks.c.k0: unknown key")
    assert elapsed < 30, elapsed


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yml"
    path.write_text("checks: {}\n# " + "x" * MAX_CONFIG_BYTES + "\n")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="larger than 2 MiB"):
        load(str(path))
    assert time.monotonic() - started < 1
