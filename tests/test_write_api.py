"""scald serve's write routes (acks, downtimes): bearer tokens from `scald-monitor token add` (kept hashed), 401/403
in JSON, every write logged with its author, and what they write reaches the daemon's outputs and the board's
/api/checks. The app is Flask's test client over a real SQLite store; one test runs the real `scald serve`."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from procs import free_port, stop_process
from scald_monitor.config import ConfigError, load
from scald_monitor.daemon import Runner
from scald_monitor.serve import create_app
from test_alerting_daemon import SITE
from test_daemon import feed

BIN = Path(sys.executable).parent
MONITOR = shutil.which("scald-monitor", path=str(BIN)) or shutil.which("scald-monitor")
SCALD = shutil.which("scald", path=str(BIN)) or shutil.which("scald")

def write(tmp_path: Path, serve: str = "serve: {tokens_file: tokens}") -> Path:
    path = tmp_path / "scald.yml"
    path.write_text(SITE.format(store=tmp_path / "store.sqlite", interval=60) + serve + "\n")
    return path


def token_add(cfg_path: Path, name: str) -> str:
    out = subprocess.run([MONITOR, "token", "add", "-c", str(cfg_path), name], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def site(tmp_path):
    cfg_path = write(tmp_path)
    token = token_add(cfg_path, "ops-bot")
    feed(tmp_path, {"0000": 1.0, "0001": 25.0, "0002": 2.0, "0003": 3.0}, range_value=45.0)
    app = create_app(load(str(cfg_path)))
    return cfg_path, token, app.test_client()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_tokens_file_keeps_hashes_only_and_a_new_file_is_private(tmp_path):
    cfg_path = write(tmp_path)
    token = token_add(cfg_path, "alice")
    text = (tmp_path / "tokens").read_text()
    assert token not in text and "alice sha256:" in text
    assert (tmp_path / "tokens").stat().st_mode & 0o777 == 0o600
    again = subprocess.run([MONITOR, "token", "add", "-c", str(cfg_path), "alice"], capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr
    listed = subprocess.run([MONITOR, "token", "list", "-c", str(cfg_path)], capture_output=True, text=True)
    assert listed.stdout.split() == ["alice"]


def test_writes_need_a_valid_bearer_token_and_answer_in_json(site):
    _, token, client = site
    body = {"comment": "on it"}
    missing = client.post("/api/checks/latency_max/ack", json=body)
    assert missing.status_code == 401 and missing.json["error"].startswith("a bearer token is required")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.post("/api/checks/latency_max/ack", json=body, headers=auth(token[:-1] + "x"))
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    basic = client.post("/api/checks/latency_max/ack", json=body, headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401
    # a cookie is no credential: there is no session to ride on (no CSRF surface)
    client.set_cookie("session", token)
    assert client.post("/api/checks/latency_max/ack", json=body).status_code == 401
    ok = client.post("/api/checks/latency_max/ack", json=body, headers=auth(token))
    assert ok.status_code == 201, ok.json
    assert ok.json["acknowledgement"]["author"] == "ops-bot"  # no author given: the token's name
    assert "Set-Cookie" not in ok.headers


def test_without_a_tokens_file_every_write_is_403(tmp_path):
    cfg_path = write(tmp_path, serve="")
    client = create_app(load(str(cfg_path))).test_client()
    for method, url in (("POST", "/api/checks/latency_max/ack"), ("DELETE", "/api/checks/latency_max/ack"),
                        ("POST", "/api/downtimes"), ("DELETE", "/api/downtimes/1")):
        answer = client.open(url, method=method, json={"comment": "x"}, headers=auth("anything"))
        assert answer.status_code == 403 and "serve.tokens_file is not set" in answer.json["error"], url
    assert client.get("/api/downtimes").status_code == 200  # reads stay open


def test_a_tokens_file_needs_a_state_file_and_a_broken_one_stops_serve_with_exit_2(tmp_path):
    path = tmp_path / "scald.yml"
    path.write_text(SITE.format(store=tmp_path / "s.sqlite", interval=60).replace("  state_file: state.json\n", "")
                    + "serve: {tokens_file: tokens}\n")
    with pytest.raises(ConfigError, match="serve.tokens_file.*needs outputs.state_file"):
        load(str(path))
    cfg_path = write(tmp_path)
    (tmp_path / "tokens").write_text("alice sha256:abc\n")
    out = subprocess.run([SCALD, "serve", "-c", str(cfg_path), "--port", str(free_port())], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "tokens:1: expected 'NAME sha256:HEX'" in out.stderr


def test_ack_through_the_api_shows_on_the_board_and_in_the_daemons_outputs(site, tmp_path, caplog):
    cfg_path, token, client = site
    caplog.set_level(logging.INFO, logger="scald_monitor.serve.writes")
    made = client.post("/api/checks/latency_max/ack", headers=auth(token),
                       json={"comment": "restarting job 1", "author": "alice", "tags": {"job": "0001"},
                             "sticky": True})
    assert made.status_code == 201, made.json
    assert made.json["acknowledgement"]["label"] == "job=0001"
    assert any("by token 'ops-bot' (author 'alice')" in r.getMessage() for r in caplog.records)
    runner = Runner(load(str(cfg_path)))
    statuses = {s.result.check: s for s in runner.run_all()}
    runner.close()
    doc = json.loads((tmp_path / "status" / "latency_max.json").read_text())
    assert doc["tags_acknowledged"]["job=0001"]["comment"] == "restarting job 1"
    assert "1 tag value(s) acknowledged" in statuses["latency_max"].result.summary
    entry = {c["name"]: c for c in client.get("/api/checks").json}["latency_max"]
    assert entry["tags_acknowledged"] == 1 and entry["acknowledgement"] is None
    # the check as a whole, then removed: the board sees each write at once (no daemon run in between)
    assert client.post("/api/checks/latency_max/ack", headers=auth(token), json={"comment": "all of it"}).status_code == 201
    entry = {c["name"]: c for c in client.get("/api/checks").json}["latency_max"]
    assert entry["acknowledgement"]["author"] == "ops-bot"
    assert client.delete("/api/checks/latency_max/ack", headers=auth(token)).status_code == 200
    assert client.delete("/api/checks/latency_max/ack", headers=auth(token)).status_code == 404
    gone = client.delete("/api/checks/latency_max/ack?tag=job=0001", headers=auth(token))
    assert gone.status_code == 200 and gone.json["removed"]["label"] == "job=0001"
    entry = {c["name"]: c for c in client.get("/api/checks").json}["latency_max"]
    assert entry["acknowledgement"] is None and entry["tags_acknowledged"] == 0


def test_downtimes_through_the_api_list_and_remove_and_reach_the_daemon(site, tmp_path):
    cfg_path, token, client = site
    made = client.post("/api/downtimes", headers=auth(token),
                       json={"checks": "range_min", "duration": "2h", "comment": "maintenance"})
    assert made.status_code == 201, made.json
    down = made.json["downtime"]
    assert down["active"] is True and down["author"] == "ops-bot" and down["until"] - down["start"] == 7200
    listed = client.get("/api/downtimes").json
    assert [(d["source"], d["id"]) for d in listed] == [("ad hoc", down["id"])]
    cli = subprocess.run([MONITOR, "downtime", "list", "-c", str(cfg_path), "--format", "json"], capture_output=True,
                         text=True)
    assert [d["id"] for d in json.loads(cli.stdout)] == [down["id"]]  # one file for the CLI and the API
    runner = Runner(load(str(cfg_path)))
    runner.run_all()
    runner.close()
    doc = json.loads((tmp_path / "status" / "range_min.json").read_text())
    assert doc["downtime"]["text"].startswith("in downtime until ") and "maintenance" in doc["downtime"]["text"]
    entry = {c["name"]: c for c in client.get("/api/checks").json}["range_min"]
    assert entry["downtime"]["until"] == pytest.approx(down["until"])
    assert client.delete(f"/api/downtimes/{down['id']}", headers=auth(token)).status_code == 200
    assert client.delete(f"/api/downtimes/{down['id']}", headers=auth(token)).status_code == 404
    assert client.get("/api/downtimes").json == []


@pytest.mark.parametrize("url, body, status, words", [
    ("/api/checks/nope/ack", {"comment": "x"}, 404, "unknown check"),
    ("/api/checks/latency_max/ack", {}, 400, "comment: required"),
    ("/api/checks/latency_max/ack", {"comment": "   "}, 400, "comment: required"),
    ("/api/checks/latency_max/ack", {"comment": "x", "sticky": "yes"}, 400, "sticky: must be true or false"),
    ("/api/checks/latency_max/ack", {"comment": "x", "admin": True}, 400, "unknown key 'admin'"),
    ("/api/checks/latency_max/ack", {"comment": "x", "tags": {"ifo": "H1"}}, 400, "not a tag of"),
    ("/api/checks/latency_max/ack", {"comment": "x", "tags": {"job": "1,2"}}, 400, "without commas"),
    ("/api/checks/latency_max/ack", {"comment": "x\n\x1b[31m"}, 400, "no control characters"),
    ("/api/checks/latency_max/ack", {"comment": "x", "expire": 1}, 400, "must be in the future"),
    ("/api/checks/latency_max/ack", {"comment": "x" * 3000}, 400, "at most 2000 characters"),
    ("/api/checks/latency_max/ack", ["comment"], 400, "must be a JSON object"),
    ("/api/downtimes", {"checks": "range_min", "comment": "x"}, 400, "end or duration"),
    ("/api/downtimes", {"checks": "range_min", "comment": "x", "duration": "soon"}, 400, "duration"),
    ("/api/downtimes", {"checks": "nope", "comment": "x", "duration": "1h"}, 404, "unknown check"),
    ("/api/downtimes", {"checks": [], "comment": "x", "duration": "1h"}, 400, "checks:"),
])
def test_bad_writes_are_400_naming_the_key_and_change_nothing(site, url, body, status, words):
    _, token, client = site
    answer = client.post(url, headers=auth(token), json=body)
    assert answer.status_code == status and words in answer.json["error"], answer.json
    assert client.get("/api/downtimes").json == []
    entry = {c["name"]: c for c in client.get("/api/checks").json}["latency_max"]
    assert entry["acknowledgement"] is None and entry["tags_acknowledged"] == 0


def test_bodies_must_be_json_objects_of_bounded_size(site):
    _, token, client = site
    form = client.post("/api/checks/latency_max/ack", headers=auth(token), data={"comment": "x"})
    assert form.status_code == 415
    big = client.post("/api/checks/latency_max/ack", headers={**auth(token), "Content-Type": "application/json"},
                      data=b'{"comment": "' + b"x" * 20000 + b'"}')
    assert big.status_code == 413
    nan = client.post("/api/checks/latency_max/ack", headers={**auth(token), "Content-Type": "application/json"},
                      data=b'{"comment": "x", "expire": NaN}')
    assert nan.status_code == 400


def test_a_revoked_token_stops_working_without_a_restart(site):
    cfg_path, token, client = site
    assert client.post("/api/downtimes", headers=auth(token),
                       json={"checks": "*", "duration": 60, "comment": "x"}).status_code == 201
    out = subprocess.run([MONITOR, "token", "remove", "-c", str(cfg_path), "ops-bot"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert client.delete("/api/downtimes/1", headers=auth(token)).status_code == 401
    other = token_add(cfg_path, "carol")
    assert client.delete("/api/downtimes/1", headers=auth(other)).status_code == 200


def test_a_vanished_tokens_file_is_logged_once_and_the_tokens_read_stay(site, tmp_path, caplog):
    _, token, client = site
    caplog.set_level(logging.ERROR, logger="scald_monitor.lifecycle.tokens")
    (tmp_path / "tokens").unlink()
    for _ in range(3):
        answer = client.post("/api/checks/latency_max/ack", json={"comment": "x"}, headers=auth(token))
        assert answer.status_code == 201, answer.json
    assert [r.getMessage() for r in caplog.records if "no such file" in r.getMessage()] == [
        f"{tmp_path / 'tokens'}: no such file (scald-monitor token add NAME creates it) (the tokens read before stay "
        "in use)"]


def test_the_real_server_takes_a_write_over_http(tmp_path):
    cfg_path = write(tmp_path)
    token = token_add(cfg_path, "ops")
    feed(tmp_path, {"0000": 1.0, "0001": 25.0, "0002": 2.0, "0003": 3.0}, range_value=45.0)
    port = free_port()
    proc = subprocess.Popen([SCALD, "serve", "-c", str(cfg_path), "--port", str(port), "--hostname", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "dashboard on" in proc.stdout.readline()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/checks/range_min/ack", method="POST",
                                         data=json.dumps({"comment": "looking"}).encode(),
                                         headers={"Content-Type": "application/json", **auth(token)})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 201
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(request.full_url, method="POST", data=request.data,
                                                          headers={"Content-Type": "application/json"}), timeout=30)
        assert refused.value.code == 401
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/checks", timeout=30) as answer:
            entries = {c["name"]: c for c in json.load(answer)}
        assert entries["range_min"]["acknowledgement"]["comment"] == "looking"
    finally:
        stop_process(proc, 10)
