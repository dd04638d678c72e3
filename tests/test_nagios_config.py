"""`scald-monitor nagios-config`: the Nagios objects it writes, exact values, refusals, and `nagios4 -v` on them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scald_monitor.config import load, make_check
from scald_monitor.nagios_config import NagiosConfigError, interval_units, render
from scald_monitor.outputs.status import expiry_seconds

REPO = Path(__file__).resolve().parents[1]
EXE = shutil.which("scald-monitor", path=os.path.dirname(sys.executable)) or shutil.which("scald-monitor")
PLUGIN = "/opt/scald/bin/check_scald"

CONFIG = """
backends:
  default: {{backend: sqlite, path: store.sqlite}}
schemas:
  latency: {{measurement: latency_history, column: data, tag: job}}
  range: {{measurement: range_history, column: data}}
checks:
  lat:
    type: heartbeat
    schema: latency
    warning: 60
    critical: 120
    interval: 30
    max_attempts: 3
    description: "Every job reported; recently"
  rng:
    type: threshold
    schema: range
    critical: "60:"
    interval: 90
    expiry: 400
  snr:
    type: threshold
    schema: range
    critical: "~:50"
    expiry: 7.5
outputs:
  status_dir: status
  state_file: state.json
  host: {host}
{extra}
"""


def write_config(tmp_path: Path, host: str = "pipeline-host", extra: str = "") -> Path:
    path = tmp_path / "scald.yml"
    path.write_text(CONFIG.format(host=host, extra=textwrap.indent(extra, "  ")))
    return path


def generate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, "nagios-config", *args], capture_output=True, text=True, timeout=60)


def parse_objects(text: str) -> list[dict[str, str]]:
    """Nagios object definitions as dicts; ``_type`` is what follows ``define``; inline ';' comments dropped."""
    objects, current = [], None
    for raw in text.splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("define "):
            current = {"_type": line[len("define "):].rstrip("{").strip()}
        elif line == "}":
            objects.append(current)
            current = None
        else:
            key, _, value = line.partition(" ")
            current[key] = value.strip()
    return objects


def objects_in(directory: Path) -> dict[str, list[dict[str, str]]]:
    return {p.name: parse_objects(p.read_text()) for p in sorted(directory.glob("*.cfg"))}


def services_of(objects: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {o["service_description"]: o for o in objects if o["_type"] == "service" and "service_description" in o}


def template_of(objects: list[dict[str, str]]) -> dict[str, str]:
    return next(o for o in objects if o.get("name") == "scald-service")


def test_passive_services_have_exact_intervals_attempts_and_freshness(tmp_path):
    cfg = write_config(tmp_path)
    out = generate("-c", str(cfg), "-o", str(tmp_path / "nag"), "--mode", "passive", "--plugin", PLUGIN)
    assert out.returncode == 0, out.stderr
    assert f"cfg_dir={tmp_path / 'nag'}" in out.stderr
    files = objects_in(tmp_path / "nag")
    assert sorted(files) == ["commands.cfg", "hosts.cfg", "services.cfg"]
    services = services_of(files["services.cfg"])
    assert sorted(services) == ["lat", "rng", "snr"]
    # intervals in minutes (interval_length 60), rounded up; freshness in seconds: expiry, else 3 x interval
    assert {n: s["check_interval"] for n, s in services.items()} == {"lat": "1", "rng": "2", "snr": "1"}
    assert {n: s["retry_interval"] for n, s in services.items()} == {"lat": "1", "rng": "2", "snr": "1"}
    assert {n: s["max_check_attempts"] for n, s in services.items()} == {"lat": "3", "rng": "1", "snr": "1"}
    assert {n: s["freshness_threshold"] for n, s in services.items()} == {"lat": "90", "rng": "400", "snr": "8"}
    # the dead-man check reports what the status JSON reports once stale: CRITICAL for a heartbeat, else UNKNOWN
    assert {n: s["check_command"] for n, s in services.items()} == {
        "lat": "check_scald_stale!2!90", "rng": "check_scald_stale!3!400", "snr": "check_scald_stale!3!8"}
    assert services["lat"]["notes"] == r"Every job reported\; recently"  # ';' would start a Nagios comment
    assert "notes" not in services["rng"]
    assert all(s["use"] == "scald-service" for s in services.values())
    template = template_of(files["services.cfg"])
    assert template["register"] == "0" and template["host_name"] == "pipeline-host"
    assert (template["active_checks_enabled"], template["passive_checks_enabled"], template["check_freshness"]) \
        == ("0", "1", "1")
    hosts = [o for o in files["hosts.cfg"] if o["_type"] == "host"]
    assert [h["host_name"] for h in hosts] == ["pipeline-host"] and hosts[0]["check_command"] == "check_scald_host"
    commands = {o["command_name"]: o["command_line"] for o in files["commands.cfg"]}
    assert commands["check_scald_status"] == f"{PLUGIN} --status-file $ARG1$ --max-age $ARG2$"
    assert commands["check_scald_check"] == f"{PLUGIN} --config {cfg} --check $ARG1$"
    assert commands["check_scald_stale"].startswith("$USER1$/check_dummy $ARG1$ ")
    for name in ("commands.cfg", "hosts.cfg", "services.cfg"):
        head = (tmp_path / "nag" / name).read_text().splitlines()[:7]
        assert "GENERATED" in head[0] and f"from the configuration {cfg}" in "\n".join(head)
        assert f"#   cfg_dir={tmp_path / 'nag'}" in head


def test_active_services_read_status_files_with_a_max_age(tmp_path):
    cfg = write_config(tmp_path)
    out = generate("-c", str(cfg), "-o", str(tmp_path / "nag"), "--mode", "active", "--plugin", PLUGIN)
    assert out.returncode == 0, out.stderr
    files = objects_in(tmp_path / "nag")
    services = services_of(files["services.cfg"])
    status = tmp_path / "status"
    assert {n: s["check_command"] for n, s in services.items()} == {
        "lat": f"check_scald_status!{status}/lat.json!90",
        "rng": f"check_scald_status!{status}/rng.json!400",
        "snr": f"check_scald_status!{status}/snr.json!8",
    }
    assert all("freshness_threshold" not in s for s in services.values())
    template = template_of(files["services.cfg"])
    assert (template["active_checks_enabled"], template["check_freshness"]) == ("1", "0")

    # a site running interval_length=1 gets the intervals in seconds; a URL base replaces the files
    out = generate("-c", str(cfg), "--mode", "active", "--plugin", PLUGIN, "--interval-length", "1",
                   "--status-url-base", "http://127.0.0.1:8080/api/nagios/")
    assert out.returncode == 0, out.stderr
    services = services_of(parse_objects(out.stdout))  # stdout: the three files one after the other
    assert {n: s["check_interval"] for n, s in services.items()} == {"lat": "30", "rng": "90", "snr": "60"}
    assert services["snr"]["check_command"] == "check_scald_status!http://127.0.0.1:8080/api/nagios/snr!8"
    assert out.stdout.count("GENERATED, do not edit") == 3


def test_default_mode_follows_the_command_file_setting_and_no_host_drops_hosts_cfg(tmp_path):
    plain = write_config(tmp_path)
    out = generate("-c", str(plain), "--plugin", PLUGIN)
    assert out.returncode == 0 and "--mode active" in out.stdout
    pushing = tmp_path / "push.yml"
    pushing.write_text(plain.read_text() + "  nagios_command_file: /var/lib/nagios4/rw/nagios.cmd\n")
    out = generate("-c", str(pushing), "--plugin", PLUGIN, "-o", str(tmp_path / "nag"))
    assert out.returncode == 0, out.stderr
    assert "--mode passive" in (tmp_path / "nag" / "services.cfg").read_text()
    (tmp_path / "nag" / "mine.cfg").write_text("# the operator's own file\n")
    out = generate("-c", str(pushing), "--plugin", PLUGIN, "-o", str(tmp_path / "nag"), "--no-host")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "nag").iterdir()) == ["commands.cfg", "mine.cfg", "services.cfg"]


@pytest.mark.parametrize("host", ["bad!host", "it's", "a,b", "x=y", "(x)", "$HOST"])
def test_names_nagios_forbids_are_refused_with_exit_2(tmp_path, host):
    cfg = write_config(tmp_path, host=f"'{host}'" if "'" not in host else f'"{host}"')
    out = generate("-c", str(cfg), "--plugin", PLUGIN, "-o", str(tmp_path / "nag"))
    assert out.returncode == 2
    assert repr(host) in out.stderr and "Nagios" in out.stderr  # the config loader or the generator says why
    assert not (tmp_path / "nag").exists()  # nothing half-written
    cfg = load(str(write_config(tmp_path)))
    cfg.outputs["host"] = host  # past the loader's own check: the generator refuses it too
    with pytest.raises(NagiosConfigError, match=f"host name {re.escape(repr(host))} contains"):
        render(cfg, "passive", PLUGIN)


def test_forbidden_check_names_and_unusable_paths_are_refused(tmp_path):
    cfg = load(str(write_config(tmp_path)))
    cfg.checks["a|b"] = cfg.checks.pop("snr")  # the config loader refuses such names; the generator does too
    with pytest.raises(NagiosConfigError, match=r"service \(check\) name 'a\|b' contains '\|'"):
        render(cfg, "passive", PLUGIN)
    cfg = load(str(write_config(tmp_path)))
    with pytest.raises(NagiosConfigError, match="plugin '/opt/my plugins/check_scald' cannot be used"):
        render(cfg, "passive", "/opt/my plugins/check_scald")
    cfg.outputs["status_dir"] = None
    with pytest.raises(NagiosConfigError, match="outputs.status_dir is not set"):
        render(cfg, "active", PLUGIN)
    render(cfg, "passive", PLUGIN)  # passive services do not read status files
    out = generate("-c", str(tmp_path / "scald.yml"), "--plugin", str(tmp_path / "nowhere" / "check_scald"))
    assert out.returncode == 0  # an explicit path is taken as given (Nagios may see a different file system)
    out = generate("-c", str(tmp_path / "scald.yml"), "--plugin", "no_such_check_scald_anywhere")
    assert out.returncode == 2 and "not found on PATH" in out.stderr


def test_unit_rules():
    assert [interval_units(s) for s in (1, 59, 60, 60.5, 120, 3600)] == [1, 1, 1, 2, 2, 60]
    assert [interval_units(s, 1) for s in (1, 2.5, 30)] == [1, 3, 30]
    # one expiry rule for status documents, freshness thresholds and --max-age: rounded up, float noise ignored
    def check(**settings):
        return make_check("c", {"type": "heartbeat", "schema": "s", "critical": 60, **settings})

    assert expiry_seconds(check(interval=5)) == 15 and expiry_seconds(check(interval=5, expiry=2.1)) == 3
    assert expiry_seconds(check()) == 180 and expiry_seconds(check(interval=0.1)) == 1
    assert expiry_seconds(check(interval=10.000000000000002)) == 30


@pytest.mark.parametrize("mode", ["active", "passive"])
def test_nagios_itself_accepts_the_generated_objects(tmp_path, nagios, mode):
    cfg = write_config(tmp_path)
    out = generate("-c", str(cfg), "-o", str(nagios.objects_dir), "--mode", mode, "--plugin", PLUGIN)
    assert out.returncode == 0, out.stderr
    # a site's contact joins the generated group, as nagios/README.md tells operators to do
    (nagios.objects_dir / "oncall.cfg").write_text(textwrap.dedent("""\
        define contact {
            contact_name                  oncall
            contactgroups                 scald-admins
            host_notification_period      24x7
            service_notification_period   24x7
            host_notification_options     d,u,r
            service_notification_options  w,u,c,r
            host_notification_commands    site_notify
            service_notification_commands site_notify
        }
    """))
    result = nagios.verify()
    assert result.returncode == 0, result.stdout
    assert "Total Warnings: 0" in result.stdout and "Total Errors:   0" in result.stdout
    assert "Checked 3 services." in result.stdout and "Checked 1 hosts." in result.stdout


# ------------------------------------------------------------------------------------------ shipped example

EXAMPLES = REPO / "examples" / "nagios"


def example_files(mode: str) -> dict[str, str]:
    """examples/nagios/<mode>/ as generated from examples/quickstart.yml, paths relative to the repository."""
    cfg = load(str(REPO / "examples" / "quickstart.yml"))
    return render(cfg, mode, str(REPO / ".venv" / "bin" / "check_scald"), outdir=f"examples/nagios/{mode}",
                  relative_to=str(REPO))


@pytest.mark.parametrize("mode", ["active", "passive"])
def test_shipped_example_is_up_to_date(mode):
    def unversioned(text: str) -> str:  # a version bump alone does not make the example stale
        return re.sub(r"\(scald-monitor [^)]*\)", "(scald-monitor VERSION)", text)

    for name, text in example_files(mode).items():
        shipped = EXAMPLES / mode / name
        assert unversioned(shipped.read_text()) == unversioned(text), \
            f"{shipped} is out of date: run `python {__file__}` to regenerate"


if __name__ == "__main__":  # regenerate examples/nagios/
    from scald_monitor.nagios_config import write_files

    for mode in ("active", "passive"):
        for path in write_files(example_files(mode), str(EXAMPLES / mode)):
            print("wrote", path)
