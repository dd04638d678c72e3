"""`scald deploy`: the generated CGI script under a real CGI server (Python's http.server CGIHTTPRequestHandler,
i.e. `python -m http.server --cgi`) answers exactly as the Flask test client does for the same config."""
from __future__ import annotations

import http.client
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scald_monitor.cli import scald
from scald_monitor.config import load
from scald_monitor.deploy import deployed_app, render_cgi, static_base
from scald_monitor.timeutil import gps_now

NAME = "scald"

CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  latency: {measurement: latency_history, column: data, tag: job, aggregate: max}
checks:
  latency_max:
    type: threshold
    schema: latency
    aggregate: max
    lookback: 3600
    warning: '~:10'
    critical: '~:20'
outputs:
  status_dir: status
  state_file: state.json
navbar:
  title: Deployed dashboard
  pages: [index]
  tabs: []
pages:
  index:
    title: Overview
    lookback: 600
    delay: 0
    plots:
      - {plot: latency, visible: true}
plots:
  latency: {title: Latency, type: TimeSeries, schema: latency}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory, make_store):
    """A config with a filled SQLite store and status files, deployed into public_html (no cgi-bin/ yet)."""
    from scald_monitor.daemon import Runner

    end = float(int(gps_now()))
    start = end - 1200
    times = [start + i for i in range(1200)]
    base = make_store(tmp_path_factory.mktemp("deploy"), CONFIG, {"latency_history": {
        ("0001",): {"time": times, "fields": {"data": [1.0 + (i % 7) for i in range(1200)]}},
        ("0002",): {"time": times, "fields": {"data": [2.5 + (i % 3) for i in range(1200)]}},
    }})
    cfg_path = base / "scald.yml"
    cfg = load(str(cfg_path))
    runner = Runner(cfg)
    runner.run_all()
    runner.close()

    public = base / "public_html"
    result = CliRunner().invoke(scald, ["deploy", "-c", str(cfg_path), "-o", str(public), "-n", NAME])
    assert result.exit_code == 0, result.output
    return {"base": base, "config": cfg_path, "public": public, "start": int(start), "end": int(end)}


@pytest.fixture(scope="module")
def cgi_server(setup):
    """``http.server``'s CGI handler serving public_html on 127.0.0.1 (free port), stopped by its PID.

    Started like ``python -m http.server --cgi`` (same handler class), but binding port 0 and printing the port it
    got (no race for a "free" port), and without dropping to ``nobody`` when run as root: ``nobody`` could not
    run this virtualenv's Python, which lives under /root. PYTHONPATH and SCALDRC_PATH are removed from its
    environment, as under Apache: the script must bring its own.
    """
    code = ("import http.server as h, os, sys\n"
            "h.nobody_uid = os.getuid  # run_cgi would setuid(nobody) when root\n"
            "s = h.ThreadingHTTPServer(('127.0.0.1', 0), h.CGIHTTPRequestHandler)\n"
            "print(s.server_address[1], flush=True)\n"
            "s.serve_forever()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCALDRC_PATH")}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=setup["public"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(port: int, path: str) -> tuple[int, dict, bytes]:
    """GET through the CGI server. http.server does not turn the script's ``Status:`` header into the HTTP status
    (Apache does), so the status is read from that header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    status = int(headers.get("status", str(resp.status)).split()[0])
    return status, headers, body


@pytest.fixture(scope="module")
def client(setup):
    app = deployed_app(str(setup["config"]), script_depth=2)
    return app.test_client()


def _same(cgi, flask_resp):
    status, headers, body = cgi
    assert status == flask_resp.status_code
    assert headers["content-type"] == flask_resp.headers["Content-Type"]
    return body, flask_resp.get_data()


def test_files_and_script(setup):
    public = setup["public"]
    cgi = public / "cgi-bin" / NAME
    assert cgi.is_file() and os.access(cgi, os.X_OK)  # cgi-bin/ was created (ligo-scald crashed here)
    text = cgi.read_text()
    assert text.startswith(f"#!{sys.executable}\n")
    assert f'os.environ["SCALDRC_PATH"] = {str(setup["config"])!r}' in text
    assert "PYTHONPATH" not in text and "None" not in text.split("deployed_app(")[0]
    assert "sys.path.insert" not in text  # this interpreter imports the package by itself
    assert "CGIHandler().run(deployed_app(" in text
    wsgi = (public / f"{NAME}.wsgi").read_text()
    assert "application = deployed_app(" in wsgi
    static = public / "static"
    from scald_monitor.report import web_dir

    for src in (web_dir() / "static").rglob("*"):
        if src.is_file():
            assert (static / src.relative_to(web_dir() / "static")).read_bytes() == src.read_bytes()


def test_api_checks_same_as_flask(setup, cgi_server, client):
    cgi, ours = _same(_get(cgi_server, f"/cgi-bin/{NAME}/api/checks"), client.get("/api/checks"))
    assert json.loads(cgi) == json.loads(ours)
    checks = json.loads(cgi)
    assert [c["name"] for c in checks] == ["latency_max"] and checks[0]["state_name"] == "OK"


def test_timeseries_same_as_flask(setup, cgi_server, client):
    route = (f"/api/timeseries/latency_history/{setup['start']}/{setup['end']}"
             "?column=data&tag=job&job=0001&job=0002&aggregate=max&dt=10")
    cgi, ours = _same(_get(cgi_server, f"/cgi-bin/{NAME}{route}"), client.get(route))
    traces = json.loads(cgi)
    assert traces == json.loads(ours)
    assert sorted(t["name"] for t in traces) == ["0001", "0002"] and len(traces[0]["x"]) >= 100


def test_errors_same_as_flask(setup, cgi_server, client):
    route = f"/api/timeseries/nope/{setup['start']}/{setup['end']}?column=data"
    cgi, ours = _same(_get(cgi_server, f"/cgi-bin/{NAME}{route}"), client.get(route))
    assert json.loads(cgi) == json.loads(ours)
    assert _get(cgi_server, f"/cgi-bin/{NAME}{route}")[0] == 404


def test_dashboard_page_and_static_from_web_root(setup, cgi_server, client):
    status, headers, body = _get(cgi_server, f"/cgi-bin/{NAME}/")
    ours = client.get("/", environ_overrides={"SCRIPT_NAME": f"/cgi-bin/{NAME}"})
    assert status == 200 == ours.status_code
    assert headers["content-type"].startswith("text/html")
    html = body.decode()

    def mask(text: str) -> str:  # the page embeds the server's clock
        return re.sub(r'"server_gps":\s*[0-9.e+-]+', '"server_gps": 0', text)

    assert mask(html) == mask(ours.get_data(as_text=True))
    assert "Deployed dashboard" in html
    static_refs = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert static_refs, "the page should load its CSS/JS from the copy in public_html/static"
    assert f"/cgi-bin/{NAME}/static/" not in html
    for ref in static_refs:  # served as plain files by the web server, not through the CGI script
        status, headers, body = _get(cgi_server, ref)
        assert status == 200 and body == (setup["public"] / ref.lstrip("/")).read_bytes()


def test_wsgi_file(setup, client):
    ns = runpy.run_path(str(setup["public"] / f"{NAME}.wsgi"))
    wsgi_client = ns["application"].test_client()
    assert wsgi_client.get("/api/checks").get_json() == client.get("/api/checks").get_json()
    page = wsgi_client.get("/", environ_overrides={"SCRIPT_NAME": "/~u/scald.wsgi"}).get_data(as_text=True)
    assert 'href="/~u/static/scald.css"' in page


def test_cgi_ext_and_static_url(setup, tmp_path):
    result = CliRunner().invoke(scald, ["deploy", "-c", str(setup["config"]), "-o", str(tmp_path / "www"),
                                        "-n", "dash", "--cgi-ext", "--static-url", "/assets/scald"])
    assert result.exit_code == 0, result.output
    script = tmp_path / "www" / "cgi-bin" / "dash.cgi"
    assert script.is_file() and "static_url='/assets/scald'" in script.read_text()


def test_interpreter_path_with_space(setup, tmp_path):
    """A shebang cannot hold a path with spaces: the script re-executes itself through /bin/sh."""
    venv = Path(sys.prefix)
    spaced = tmp_path / "my env"
    spaced.mkdir()
    (spaced / "venv").symlink_to(venv)
    python = str(spaced / "venv" / "bin" / Path(sys.executable).name)
    script = tmp_path / "cgi"
    script.write_text(render_cgi(str(setup["config"]), python))
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SCALDRC_PATH")}
    env.update(REQUEST_METHOD="GET", PATH_INFO="/api/checks", SCRIPT_NAME="/cgi-bin/x", SERVER_NAME="127.0.0.1",
               SERVER_PORT="80", SERVER_PROTOCOL="HTTP/1.1", QUERY_STRING="")
    out = subprocess.run([str(script)], env=env, capture_output=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: 200") and json.loads(body)[0]["name"] == "latency_max"


def test_broken_config_after_deploy_is_503(setup, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("checks: {x: {type: nope}}\n")
    app = deployed_app(str(bad))
    resp = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda s, h: resp.append(s)))
    assert resp == ["503 Service Unavailable"] and b"problem(s)" in body and b"nope" not in body


def test_bad_name_and_bad_config_exit_2(setup, tmp_path):
    result = CliRunner().invoke(scald, ["deploy", "-c", str(setup["config"]), "-o", str(tmp_path), "-n", "../x"])
    assert result.exit_code == 2 and "application name" in result.output
    bad = tmp_path / "bad.yml"
    bad.write_text("backends: {default: {backend: sqlite, pth: x}}\n")
    result = CliRunner().invoke(scald, ["deploy", "-c", str(bad), "-o", str(tmp_path / "www")])
    assert result.exit_code == 2 and f"{bad}:1: backends.default.pth" in result.output
    assert not (tmp_path / "www").exists()


def test_static_base():
    assert static_base("/~u/cgi-bin/scald", 2) == "/~u/static"
    assert static_base("/cgi-bin/scald.cgi", 2) == "/static"
    assert static_base("/~u/scald.wsgi", 1) == "/~u/static"
    assert static_base("/scald", 1) == "/static"


@pytest.mark.parametrize("static_url", ["//cdn.example.org/static", "/\\cdn/static", "relative/static", "ftp://x/s",
                                        "/static\n", "/a b"])
def test_a_static_url_the_page_policy_cannot_name_is_refused(setup, tmp_path, static_url):
    from scald_monitor.deploy import DeployError, deploy

    with pytest.raises(DeployError, match="--static-url"):
        deploy(load(str(setup["config"])), tmp_path / "out", static_url=static_url)
    assert not (tmp_path / "out").exists()  # refused before anything is written
