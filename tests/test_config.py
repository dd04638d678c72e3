"""Configuration loading and validation: real files, real line numbers, every problem reported."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scald_monitor.cli import monitor
from scald_monitor.config import (
    Check,
    Config,
    ConfigError,
    Problem,
    SchemaSpec,
    load,
    resolve_path,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
QUICKSTART = EXAMPLES / "quickstart.yml"
LIGO_STYLE = EXAMPLES / "ligo-scald-style.yml"


def write(tmp_path: Path, text: str, name: str = "scald.yml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def problems_of(path: str) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load(path)
    return info.value.problems


def find(problems: list[Problem], path: str) -> Problem:
    matches = [p for p in problems if p.path == path]
    assert matches, f"no problem at {path!r}; got:\n" + "\n".join(map(str, problems))
    return matches[0]


MINIMAL = """
    schemas:
      latency:
        column: data
        tag: job
    checks:
      lat:
        type: threshold
        schema: latency
        critical: '~:10'
"""

# ------------------------------------------------------------------------------------------------ the examples


def test_quickstart_loads_and_is_normalized():
    cfg = load(str(QUICKSTART))
    assert isinstance(cfg, Config)
    assert cfg.summary() == f"{QUICKSTART}: OK — 1 backend, 3 schemas, 4 checks"
    assert cfg.backends == {"default": {"backend": "sqlite", "path": str(EXAMPLES / "var" / "quickstart.sqlite")}}
    assert cfg.backend() is cfg.backends["default"]
    assert set(cfg.checks) == {"latency_heartbeat", "latency_threshold", "range_bns", "snr_max"}

    snr = cfg.schemas["snr"]
    assert (snr.measurement, snr.columns, snr.column_key, snr.tags, snr.tag_key) == (
        "snr_history", ("snr", "chisq"), "snr", ("job",), "job",
    )
    assert cfg.schemas["latency"].expected_tags == ("0000", "0001", "0002", "0003")
    assert cfg.schemas["latency"].mock["gaps"] == [{"tag": "0003", "start": 0, "every": 90, "length": 45}]
    assert cfg.schemas["snr"].mock["columns"]["snr"]["spike_rate"] == 2
    assert cfg.schemas["latency"].extra == {}

    hb = cfg.checks["latency_heartbeat"]
    assert isinstance(hb, Check)
    assert (hb.type, hb.warning, hb.critical, hb.lookback, hb.units) == ("heartbeat", 15, 30, 60, "s")
    assert hb.tags == ("0000", "0001", "0002", "0003") and hb.per_tag is True
    rng = cfg.checks["range_bns"]
    assert (rng.warning, rng.critical, rng.aggregate, rng.lookback, rng.units) == ("100:", "60:", "min", 300, "Mpc")
    assert cfg.checks["snr_max"].column == "snr"
    assert cfg.outputs == {
        "status_dir": str(EXAMPLES / "var" / "status"),
        "state_file": str(EXAMPLES / "var" / "state.json"),
        "nagios_command_file": None,
        "host": "localhost",
        "icinga2": None,
    }
    assert cfg.mock == {"seed": 42, "rate": 1, "tags": {"job": ["0000", "0001", "0002", "0003"]}}
    assert [p["plot"] for p in cfg.dashboard["pages"]["index"]["plots"]] == ["latency", "range", "snr"]


def test_ligo_scald_style_loads_and_translates_nagios():
    cfg = load(str(LIGO_STYLE))
    backend = cfg.backend("default")
    assert backend["backend"] == "influxdb" and backend["db"] == "gstlal_inspiral" and backend["port"] == 8086
    assert cfg.schemas["latency"].expected_tags == ("0000", "0001", "0002")
    assert cfg.schemas["latency"].extra["default"] == 10000.0  # YAML 1.1 read '1e4' as a string
    assert cfg.schemas["far"].tags == () and cfg.schemas["far"].tag_key is None

    hb = cfg.checks["latency"]
    assert (hb.type, hb.schema, hb.lookback, hb.critical, hb.source) == ("heartbeat", "latency", 180, 180, "nagios")
    th = cfg.checks["snr"]
    assert (th.type, th.schema, th.lookback, th.aggregate, th.critical, th.warning, th.units) == (
        "threshold", "snr", 600, "max", "~:50", None, "")
    assert th.tags == ("0000", "0001", "0002")
    assert cfg.dashboard["nagios"]["snr"]["alert_settings"]["threshold"] == 50


# ------------------------------------------------------------------------------------------------ schemas


def test_column_columns_tag_tags_forms(tmp_path):
    cfg = load(write(tmp_path, """
        schemas:
          one: {column: data, tag: job}
          many: {measurement: m2, columns: [snr, chisq], tags: [job, ifo]}
          keyed: {columns: [a, b], column_key: b, tags: [job, ifo], tag_key: ifo}
          untagged: {column: x}
          pairs:
            column: data
            tags: [[job, '0001'], [job, '0002'], [ifo, H1]]
          generated: {column: data, tag: job, tag_format: 3digit, num_tags: 2, tag_start: 5}
          keyonly: {column: data, tag_key: job, tag_format: 4digit, num_tags: 3}
          both: {column: data, tag: job, tags: [[job, '0001'], [job, '0002']]}
          both_names: {column: data, tag: ifo, tags: [job, ifo]}
    """))
    s = cfg.schemas
    assert isinstance(s["one"], SchemaSpec)
    assert (s["one"].measurement, s["one"].columns, s["one"].column_key, s["one"].tags, s["one"].tag_key) == (
        "one", ("data",), "data", ("job",), "job",
    )
    assert (s["many"].measurement, s["many"].column_key, s["many"].tags, s["many"].tag_key) == (
        "m2", "snr", ("job", "ifo"), "job",
    )
    assert (s["keyed"].column_key, s["keyed"].tag_key) == ("b", "ifo")
    assert (s["untagged"].tags, s["untagged"].tag_key, s["untagged"].expected_tags) == ((), None, None)
    assert (s["pairs"].tags, s["pairs"].tag_key, s["pairs"].expected_tags) == (("job", "ifo"), "job", ("0001", "0002"))
    assert s["generated"].expected_tags == ("005", "006")
    assert (s["keyonly"].tags, s["keyonly"].expected_tags) == (("job",), ("0000", "0001", "0002"))
    # ligo-scald's usual pair: `tag` for its dashboard's filters, `tags` pairs for its nagios checks' values
    assert (s["both"].tags, s["both"].tag_key, s["both"].expected_tags) == (("job",), "job", ("0001", "0002"))
    assert (s["both_names"].tags, s["both_names"].tag_key) == (("ifo", "job"), "ifo")


def test_schema_problems(tmp_path):
    path = write(tmp_path, """
        schemas:
          both: {column: a, columns: [a]}
          none: {tag: job}
          dup: {columns: [a, a]}
          badkey: {columns: [a, b], column_key: c, tags: [job], tag_key: ifo}
          badname: {column: 'two words', tag: 'job;drop'}
          fmt: {column: a, tag: job, tag_format: hex, num_tags: 0}
          nonum: {column: a, tag: job, tag_format: 4digit}
          mixed: {column: a, tags: [job, [job, '1']]}
          agg: {column: a, aggregate: mean}
          empty: {columns: []}
    """)
    problems = problems_of(path)
    expect = {
        "schemas.both.columns": (2, "not both"),
        "schemas.none.column": (3, "required"),
        "schemas.dup.columns[1]": (4, "duplicate column 'a'"),
        "schemas.badkey.column_key": (5, "one of the schema's columns (a, b)"),
        "schemas.badkey.tag_key": (5, "one of the schema's tags (job)"),
        "schemas.badname.column": (6, "not a valid name"),
        "schemas.badname.tag": (6, "not a valid name"),
        "schemas.fmt.tag_format": (7, "'4digit'"),
        "schemas.fmt.num_tags": (7, "an integer between 1 and 100000"),
        "schemas.nonum.num_tags": (8, "required with tag_format"),
        "schemas.mixed.tags": (9, "mixes"),
        "schemas.agg.aggregate": (10, "did you mean 'median'?"),
        "schemas.empty.columns": (11, "at least one column"),
    }
    for where, (line, fragment) in expect.items():
        problem = find(problems, where)
        assert problem.line == line, str(problem)
        assert fragment in problem.message, str(problem)


def test_schema_mock_settings_are_validated(tmp_path):
    path = write(tmp_path, """
        schemas:
          s:
            columns: [snr, chisq]
            mock:
              signal: sawtooth
              period: 0
              noise: lots
              gaps: [{tag: '0001', start: 10, every: -1, lenght: 5}]
              columns:
                snr: {offset: 3}
                nope: {offset: 1}
                chisq: {columns: {}}
    """)
    problems = problems_of(path)
    assert "did you mean" not in find(problems, "schemas.s.mock.signal").message
    assert "sine" in find(problems, "schemas.s.mock.signal").message
    assert find(problems, "schemas.s.mock.period").line == 6
    assert find(problems, "schemas.s.mock.noise").line == 7
    assert find(problems, "schemas.s.mock.gaps[0].every").line == 8
    assert "did you mean 'length'?" in find(problems, "schemas.s.mock.gaps[0].lenght").message
    assert find(problems, "schemas.s.mock.gaps[0].length").message.startswith("required")
    assert "snr, chisq" in find(problems, "schemas.s.mock.columns.nope").message
    assert find(problems, "schemas.s.mock.columns.chisq.columns").message.startswith("unknown key")


def test_schema_mock_gap_forms(tmp_path):
    cfg = load(write(tmp_path, """
        schemas:
          s:
            column: data
            tag: job
            mock:
              signal: steps
              step_every: 900
              gaps:
                - {tag: '0001', start: 1187000000, every: 3600, length: 300}
                - {tag: null, start: 1187000000, length: 60}
                - {tag: ['0001', 2], length: 10}
    """))
    assert cfg.schemas["s"].mock == {
        "signal": "steps",
        "step_every": 900,
        "gaps": [
            {"tag": "0001", "start": 1187000000, "every": 3600, "length": 300},
            {"tag": None, "start": 1187000000, "length": 60},
            {"tag": ["0001", "2"], "length": 10},
        ],
    }
    assert cfg.schemas["s"].extra == {}


def test_numeric_strings_are_accepted(tmp_path):
    cfg = load(write(tmp_path, """
        schemas:
          s: {column: data, default: 1e4, ybin_start: 1e-3}
        checks:
          c: {type: threshold, schema: s, critical: 1e-21, lookback: 3e2}
    """))
    assert cfg.schemas["s"].extra == {"default": 10000.0, "ybin_start": 0.001}
    assert cfg.checks["c"].lookback == 300.0
    assert cfg.checks["c"].critical == "1e-21"


# ------------------------------------------------------------------------------------------------ backends


def test_default_backend_when_section_missing(tmp_path):
    cfg = load(write(tmp_path, MINIMAL))
    assert cfg.backends == {"default": {"backend": "sqlite", "path": str(tmp_path / "scald.sqlite")}}
    assert cfg.checks["lat"].backend == "default"


def test_backend_paths_and_defaults(tmp_path):
    cfg = load(write(tmp_path, """
        backends:
          default: {backend: sqlite, path: data/db.sqlite, raw_retention: 86400, timeout: 5}
          mem: {backend: sqlite, path: ':memory:', raw_retention: null}
          abs: {backend: sqlite, path: /srv/scald/db.sqlite}
          influx: {backend: influxdb, db: mydb}
          influx2: {backend: influxdb, db: x, hostname: h, port: '8087', https: true, buffer_size: 10, retry_max: 30}
    """))
    assert cfg.backends["default"] == {
        "backend": "sqlite", "path": str(tmp_path / "data" / "db.sqlite"), "raw_retention": 86400, "timeout": 5,
    }
    assert cfg.backends["mem"] == {"backend": "sqlite", "path": ":memory:", "raw_retention": None}
    assert cfg.backends["abs"]["path"] == "/srv/scald/db.sqlite"
    assert cfg.backends["influx"] == {"backend": "influxdb", "db": "mydb", "hostname": "localhost", "port": 8086}
    assert cfg.backends["influx2"]["port"] == 8087 and cfg.backends["influx2"]["https"] is True
    # validation never creates or opens the database
    assert not (tmp_path / "data").exists()


def test_backend_problems(tmp_path):
    path = write(tmp_path, """
        backends:
          default: {backend: postgres}
          lite: {backend: sqlite, pth: x.db}
          influx: {backend: influxdb, port: 0, auth: 'yes', hostnme: h}
          nokind: {path: x}
          notamap: 3
    """)
    problems = problems_of(path)
    assert "sqlite, influxdb" in find(problems, "backends.default.backend").message
    assert find(problems, "backends.lite.pth").message == "unknown key (did you mean 'path'?)"
    assert find(problems, "backends.lite.path").message.startswith("required")
    assert find(problems, "backends.influx.db").line == 4
    assert "between 1 and 65535" in find(problems, "backends.influx.port").message
    assert "true or false" in find(problems, "backends.influx.auth").message
    assert "did you mean 'hostname'" in find(problems, "backends.influx.hostnme").message
    assert find(problems, "backends.nokind.backend").line == 5
    assert find(problems, "backends.notamap").line == 6


def test_missing_default_backend_is_reported_only_when_used(tmp_path):
    ok = write(tmp_path, "backends:\n  main: {backend: sqlite, path: a.sqlite}\n", "ok.yml")
    assert set(load(ok).backends) == {"main"}
    path = write(tmp_path, """
        backends:
          main: {backend: sqlite, path: a.sqlite}
        schemas:
          s: {column: data}
        checks:
          implicit: {type: threshold, schema: s, critical: '10'}
          explicit: {type: threshold, schema: s, critical: '10', backend: mian}
    """)
    problems = problems_of(path)
    implicit = find(problems, "checks.implicit")
    assert implicit.line == 6 and "'default'" in implicit.message and "main" in implicit.message
    explicit = find(problems, "checks.explicit.backend")
    assert explicit.line == 7 and "did you mean 'main'?" in explicit.message


def test_config_backend_lookup_names_missing_backend(tmp_path):
    cfg = load(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError) as info:
        cfg.backend("archive")
    assert info.value.problems[0].path == "backends.archive"
    assert "no such backend" in str(info.value) and "default" in str(info.value)


# ------------------------------------------------------------------------------------------------ checks


def test_check_defaults(tmp_path):
    cfg = load(write(tmp_path, """
        schemas:
          tagged: {column: data, tag: job}
          plain: {column: data}
        checks:
          hb: {type: heartbeat, schema: tagged, critical: 120}
          th: {type: threshold, schema: plain, warning: 50, critical: '@0'}
          full:
            type: threshold
            schema: tagged
            aggregate: latest
            lookback: 60
            warning: '~:1'
            critical: '~:2'
            warning_reset: '~:0.5'
            critical_reset: '~:1.5'
            per_tag: false
            tags: ['0001', 2]
            units: ms
            interval: 10
            max_attempts: 3
            for: 30
            timeout: 5
            description: hi
            expiry: 600
            stale_state: UNKNOWN
    """))
    hb, th, full = cfg.checks["hb"], cfg.checks["th"], cfg.checks["full"]
    # every default applied once, here: timeout min(interval, 30), expiry 3 × interval, stale state by type
    assert hb == Check(
        name="hb", type="heartbeat", schema="tagged", source="checks", backend="default", column="data",
        warning=None, critical=120, warning_reset=None, critical_reset=None, aggregate=None, lookback=240,
        per_tag=True, tags=None, tag_filter=None, units="s", interval=60, max_attempts=1, hold=0, timeout=30,
        expiry=180, description="", stale_state=2, forget_after=86400,
    )
    assert hb.settings()["for"] == 0 and "hold" not in hb.settings() and "name" not in hb.settings()
    assert (th.warning, th.critical, th.aggregate, th.lookback, th.per_tag, th.stale_state, th.forget_after) == (
        "50", "@0", "max", 300, False, 3, None,
    )
    assert full.tags == ("0001", "2") and full.stale_state == 3 and full.per_tag is False
    assert (full.warning_reset, full.critical_reset) == ("~:0.5", "~:1.5")
    assert (full.hold, full.max_attempts, full.interval, full.timeout, full.expiry) == (30, 3, 10, 5, 600)


def test_check_problems(tmp_path):
    path = write(tmp_path, """
        schemas:
          plain: {column: data}
        checks:
          a: {type: treshold, schema: plain, critical: '10'}
          b: {type: threshold, schema: plian, critical: '10'}
          c: {type: threshold, schema: plain}
          d: {type: threshold, schema: plain, critical: '10:5', warning: 'x'}
          e: {type: heartbeat, schema: plain, warning: 300, critical: 60, critical_reset: '5'}
          f: {type: heartbeat, schema: plain}
          g: {type: threshold, schema: plain, critical: '1', per_tag: true, stale_state: 7, max_attempts: 0}
          h: {schema: plain, critical: '1', column: dta, aggregate: mean}
          'bad/name': {type: threshold, schema: plain, critical: '1'}
    """)
    problems = problems_of(path)
    assert "did you mean 'threshold'?" in find(problems, "checks.a.type").message
    assert "did you mean 'plain'?" in find(problems, "checks.b.schema").message
    assert find(problems, "checks.c.critical").line == 6
    bad_range = find(problems, "checks.d.critical")
    assert bad_range.line == 7 and "greater than" in bad_range.message and "'10:5'" in bad_range.message
    assert "not a number" in find(problems, "checks.d.warning").message
    assert "greater than critical" in find(problems, "checks.e.warning").message
    assert "only threshold" in find(problems, "checks.e.critical_reset").message
    assert "heartbeat needs" in find(problems, "checks.f.critical").message
    assert "no tags" in find(problems, "checks.g.per_tag").message
    assert "0..3" in find(problems, "checks.g.stale_state").message
    assert ">= 1" in find(problems, "checks.g.max_attempts").message
    assert find(problems, "checks.h.type").message.startswith("required")
    assert "did you mean 'data'?" in find(problems, "checks.h.column").message
    assert "min, median, max, latest" in find(problems, "checks.h.aggregate").message
    assert find(problems, "checks.bad/name").line == 12


def test_nagios_section_problems_and_conflicts(tmp_path):
    path = write(tmp_path, """
        schemas:
          latency: {column: data, tag: job}
          snr: {column: data, tag: job}
        checks:
          latency: {type: heartbeat, schema: latency, critical: 60}
        nagios:
          latency: {lookback: 180, alert_type: heartbeat}
          snr: {lookback: 600, alert_type: threshold, alert_settings: {threshhold: 5}}
          range: {lookback: 600, alert_type: heartbeat, backend: other}
    """)
    problems = problems_of(path)
    assert "also defined under checks" in find(problems, "nagios.latency").message
    assert find(problems, "nagios.snr.alert_settings.threshhold").message == "unknown key (did you mean 'threshold'?)"
    assert find(problems, "nagios.snr.alert_settings.threshold").line == 8
    assert "no schema 'range'" in find(problems, "nagios.range").message


# ------------------------------------------------------------------------------- outputs, mock, dashboard


def test_outputs_and_mock(tmp_path):
    cfg = load(write(tmp_path, """
        outputs:
          status_dir: status
          state_file: /var/lib/scald/state.json
          nagios_command_file: /var/lib/nagios/rw/nagios.cmd
          host: ligo-monitor
          icinga2: {url: 'https://icinga:5665/', user: scald, password_env: ICINGA_PASSWORD, ca: ca.pem, ttl: 300}
        mock: {seed: 1, rate: 16, tags: {job: [1, '0002']}, start: 1400000000, span: 3600}
    """))
    assert cfg.outputs["status_dir"] == str(tmp_path / "status")
    assert cfg.outputs["state_file"] == "/var/lib/scald/state.json"
    assert cfg.outputs["icinga2"] == {
        "url": "https://icinga:5665", "user": "scald", "password_env": "ICINGA_PASSWORD",
        "ca": str(tmp_path / "ca.pem"), "ttl": 300,
    }
    assert cfg.mock == {"seed": 1, "rate": 16, "tags": {"job": ["1", "0002"]}, "start": 1400000000, "span": 3600}


def test_dashboard_references_and_typos(tmp_path):
    path = write(tmp_path, """
        schemas:
          s: {column: data}
        navbar:
          titel: x
          logo_link: accepted-as-ligo-scald-would
          pages: [index, missing]
        pages:
          index:
            lookback: 600
            delay: -1
            plots:
              - {plot: p, visible: true}
              - {plot: q, visible: true}
        plots:
          p: {type: TimeSeries, schema: s}
          m: {type: MultiSchema, schema: {a: s, b: nope}}
          t: {type: Timeseries, schema: s}
    """)
    problems = problems_of(path)
    assert find(problems, "navbar.titel").message == "unknown key (did you mean 'title'?)"
    assert not [p for p in problems if "logo_link" in p.path]
    assert find(problems, "navbar.pages[1]").line == 6
    assert find(problems, "pages.index.delay").line == 10
    assert "unknown plot 'q'" in find(problems, "pages.index.plots[1].plot").message
    assert "unknown schema 'nope'" in find(problems, "plots.m.schema.b").message
    assert "did you mean 'TimeSeries'?" in find(problems, "plots.t.type").message


# ------------------------------------------------------------------------------------------------ a broken file


BROKEN = """\
backends:
  default:
    backend: mysql
schemas:
  latency:
    measurement: latency_history
    colum: data
  snr:
    column: snr
    tag: job
checks:
  latency:
    type: threshold
    schema: latency
    critcal: '~:10'
    warning: '20:10'
  snr_hb:
    type: heartbeat
    schema: snrr
    critical: soon
    interval: -1
outputs:
  hots: localhost
unknown_section: 1
"""


def test_broken_config_reports_every_problem_with_lines(tmp_path):
    path = write(tmp_path, BROKEN, "bad.yml")
    with pytest.raises(ConfigError) as info:
        load(path)
    problems = info.value.problems
    got = {(p.line, p.path) for p in problems}
    expected = {
        (3, "backends.default.backend"),
        (7, "schemas.latency.colum"),
        (5, "schemas.latency.column"),  # a missing key points at the mapping that lacks it
        (15, "checks.latency.critcal"),
        (16, "checks.latency.warning"),
        (19, "checks.snr_hb.schema"),
        (20, "checks.snr_hb.critical"),
        (21, "checks.snr_hb.interval"),
        (23, "outputs.hots"),
        (24, "unknown_section"),
    }
    assert expected <= got, "\n".join(map(str, problems))
    assert all(p.file == path for p in problems)
    assert str(find(problems, "checks.latency.critcal")) == (
        f"{path}:15: checks.latency.critcal: unknown key (did you mean 'critical'?)"
    )
    assert "did you mean 'column'?" in find(problems, "schemas.latency.colum").message
    assert "did you mean 'snr'?" in find(problems, "checks.snr_hb.schema").message
    assert "did you mean 'host'?" in find(problems, "outputs.hots").message
    assert "seconds > 0" in find(problems, "checks.snr_hb.critical").message
    assert "start 20 is greater than end 10" in find(problems, "checks.latency.warning").message
    assert "sqlite, influxdb" in find(problems, "backends.default.backend").message
    assert str(info.value) == "\n".join(str(p) for p in problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


@pytest.mark.parametrize(
    "text,line,fragment",
    [
        ("schemas:\n  s: {column: [a\nchecks: {}\n", 3, "invalid YAML"),
        ("a:\n  b: 1\n c: 2\n", 3, "invalid YAML"),
        ("", 1, "empty"),
        ("# only a comment\n", 1, "empty"),
        ("- backends\n", 1, "top level must be a mapping"),
        ("just text\n", 1, "top level must be a mapping"),
        ("mock:\n  start: 2001-13-45\n", 2, "month must be in 1..12"),
        ("mock: {seed: 1}\nmock: {seed: 2}\n", 2, "duplicate key (first defined at line 1)"),
        ("navbar: {title: \"\x07\"}\n", 1, "special characters"),
        ("a: 1\n---\nb: 2\n", 2, "single document"),
        ("x: !!python/object:os.system {}\n", 1, "could not determine a constructor"),
    ],
)
def test_unparseable_files(tmp_path, text, line, fragment):
    path = tmp_path / "c.yml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(str(path))
    assert problems[0].line == line, str(problems[0])
    assert fragment in problems[0].message, str(problems[0])


def test_unreadable_files(tmp_path):
    missing = str(tmp_path / "nope.yml")
    problem = problems_of(missing)[0]
    assert (problem.file, problem.line) == (missing, None)
    assert str(problem) == f"{missing}: cannot read configuration file: No such file or directory"
    assert "cannot read" in problems_of(str(tmp_path))[0].message  # a directory
    binary = tmp_path / "bin.yml"
    binary.write_bytes(b"a: 1\nb: \xff\xfe\n")
    problem = problems_of(str(binary))[0]
    assert problem.line == 2 and "UTF-8" in problem.message


def test_problem_format():
    assert str(Problem("f.yml", 12, "checks.x.critcal", "unknown key")) == "f.yml:12: checks.x.critcal: unknown key"
    assert str(Problem("f.yml", None, "", "cannot read")) == "f.yml: cannot read"


# ------------------------------------------------------------------------------------------------ resolve_path and CLI


def test_resolve_path(monkeypatch):
    monkeypatch.setenv("SCALDRC_PATH", "/etc/scald.yml")
    assert resolve_path("mine.yml") == "mine.yml"
    assert resolve_path(None) == "/etc/scald.yml"
    monkeypatch.delenv("SCALDRC_PATH")
    with pytest.raises(ConfigError) as info:
        resolve_path(None)
    assert len(info.value.problems) == 1 and "SCALDRC_PATH" in str(info.value)


def test_cli_validate_quickstart():
    result = CliRunner().invoke(monitor, ["validate", "-c", str(QUICKSTART)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{QUICKSTART}: OK — 1 backend, 3 schemas, 4 checks"


def test_cli_validate_broken_lists_every_problem(tmp_path):
    path = write(tmp_path, BROKEN, "bad.yml")
    result = CliRunner().invoke(monitor, ["validate", "-c", path])
    assert result.exit_code == 2
    problems = problems_of(path)
    for problem in problems:
        assert str(problem) in result.stderr
    assert f"{len(problems)} problem(s)" in result.stderr
    assert result.stdout == ""


def test_cli_env_fallback(tmp_path):
    path = write(tmp_path, MINIMAL)
    result = CliRunner().invoke(monitor, ["validate"], env={"SCALDRC_PATH": path})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: OK")


def test_cli_missing_file(tmp_path):
    missing = str(tmp_path / "missing.yml")
    result = CliRunner().invoke(monitor, ["validate", "-c", missing])
    assert result.exit_code == 2
    assert missing in result.stderr and "cannot read" in result.stderr


# ------------------------------------------------------------------------------------------------ property tests

KNOWN_WORDS = [
    "backends", "schemas", "checks", "outputs", "mock", "navbar", "pages", "plots", "plotly", "nagios", "default",
    "backend", "sqlite", "influxdb", "path", "db", "port", "measurement", "column", "columns", "tag", "tags",
    "tag_key", "column_key", "tag_format", "num_tags", "aggregate", "type", "threshold", "heartbeat", "schema",
    "warning", "critical", "lookback", "alert_type", "alert_settings", "plot", "title", "signal", "gaps",
    "status_dir", "icinga2", "url", "job", "data", "max", "4digit", "~:10", "10:", "@1:2",
]
keys = st.one_of(st.sampled_from(KNOWN_WORDS), st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none())
scalars = st.one_of(
    st.sampled_from(KNOWN_WORDS), st.text(max_size=10), st.integers(), st.floats(), st.booleans(), st.none(),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=30,
)


def assert_loads_or_locates(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    n_lines = max(1, len(text.splitlines()))
    try:
        cfg = load(str(path))
    except ConfigError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.line is not None and 1 <= problem.line <= n_lines, str(problem)
    else:
        assert isinstance(cfg, Config)
        cfg.summary()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(KNOWN_WORDS[:10]), documents, max_size=6))
def test_property_random_mappings(tmp_path, doc):
    path = tmp_path / "random.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert_loads_or_locates(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_property_random_documents(tmp_path, doc):
    path = tmp_path / "random.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert_loads_or_locates(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet=":-[]{}&*!|>'\"%@`#,? \n\tab1~", max_size=80)))
def test_property_random_text(tmp_path, text):
    path = tmp_path / "random.yml"
    path.write_text(text, encoding="utf-8")
    assert_loads_or_locates(path)


def test_quickstart_mutations_locate_problems(tmp_path):
    """Delete each line of the quickstart in turn: the result loads or every problem points into the file."""
    lines = QUICKSTART.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in range(len(lines)):
        path = tmp_path / "mutated.yml"
        path.write_text("".join(lines[:i] + lines[i + 1:]), encoding="utf-8")
        assert_loads_or_locates(path)


def test_host_names_nagios_cannot_take_are_refused(tmp_path):
    path = tmp_path / "host.yml"
    path.write_text("outputs:\n  host: 'web;01'\n")
    with pytest.raises(ConfigError) as info:
        load(str(path))
    assert f"{path}:2: outputs.host:" in str(info.value) and "host name" in str(info.value)


def test_forget_after(tmp_path):
    cfg = load(write(tmp_path, """
        schemas:
          tagged: {column: data, tag: job}
        checks:
          hb: {type: heartbeat, schema: tagged, critical: 120, forget_after: 3600}
    """))
    assert cfg.checks["hb"].forget_after == 3600
    path = write(tmp_path, """
        schemas:
          tagged: {column: data, tag: job}
        checks:
          th: {type: threshold, schema: tagged, critical: '10', forget_after: 3600}
          hb: {type: heartbeat, schema: tagged, critical: 120, forget_after: soon}
    """)
    problems = problems_of(path)
    assert "only heartbeat checks take forget_after" in find(problems, "checks.th.forget_after").message
    assert find(problems, "checks.hb.forget_after").line == 5
