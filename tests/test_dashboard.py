"""The dashboard's pages (``scald_monitor.serve.pages`` + ``web/``): Flask test-client checks, then a real headless
Chromium against a live server on 127.0.0.1 with generated data.

The browser test is the only way to know the page works: that the vendored uPlot loads, that every plot type draws
points, that streaming appends, that the status board shows the daemon's states, and that nothing is fetched from
any other host. It fails (never skips) when Chromium is missing: ``.ci/run`` installs it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from procs import free_port
from scald_monitor import config
from scald_monitor.serve import create_app

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
QUICKSTART = ROOT / "examples" / "quickstart.yml"
ARTIFACTS = ROOT / "test-artifacts"
XSS = "<script>alert(1)</script>"
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# recipes.md §2, plus: every host but 127.0.0.1 unresolvable, so an external request cannot even leave the box.
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


# ---- configs ---------------------------------------------------------------------------------------------------


def write_config(tmp_path: Path, tabs=None) -> Path:
    """The quickstart, with data under ``tmp_path``, hostile titles everywhere a user can put text, a Bar plot,
    a second page, and (by default) no external navbar link."""
    raw = yaml.safe_load(QUICKSTART.read_text())
    raw["backends"]["default"]["path"] = str(tmp_path / "var" / "quickstart.sqlite")
    raw["outputs"]["status_dir"] = str(tmp_path / "var" / "status")
    raw["outputs"]["state_file"] = str(tmp_path / "var" / "state.json")
    raw["navbar"]["title"] = f"Quick {XSS}"
    raw["navbar"]["pages"] = ["index", "latest"]
    raw["navbar"]["tabs"] = tabs if tabs is not None else [{"name": f"API {XSS}", "url": "/api/openapi.json"}]
    raw["pages"]["index"]["title"] = f"Overview {XSS}"
    raw["plots"]["range"]["title"] = f"BNS range {XSS}"
    raw["checks"]["range_bns"]["description"] = f"BNS range {XSS}"
    raw["plots"]["latest_snr"] = {"title": "Latest SNR", "type": "Bar", "schema": "snr"}
    raw["plots"]["multi"] = {"title": "Multi", "type": "MultiAxis", "schema": "snr"}
    raw["pages"]["index"]["plots"].append({"plot": "latest_snr", "visible": True, "grid": {"x": 0, "y": 8, "w": 4, "h": 4}})
    raw["pages"]["latest"] = {"title": "Latest", "lookback": 600, "delay": 0,
                              "plots": [{"plot": "latest_snr", "visible": True}, {"plot": "multi", "visible": True}]}
    path = tmp_path / "dashboard.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def client(tmp_path):
    return create_app(config.load(str(write_config(tmp_path)))).test_client()


def page_context(html: str) -> dict:
    """The JSON document a page hands scald.js."""
    m = re.search(r'<script type="application/json" id="scald-context">(.*?)</script>', html, re.S)
    assert m, "no scald-context document"
    return json.loads(m.group(1))


def strip_comments(text: str) -> str:
    """Remove /* */, <!-- --> and // line comments (not the // of a URL, which follows a colon)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"(^|[\s;{}(),])//[^\n]*", r"\1", text)


EXTERNAL = re.compile(r"https?://", re.I)


# ---- test client: pages, errors, escaping ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/index", "/latest", "/status", "/?lookback=600&delay=5",
                                  "/?start=1187008782&end=1187008982", "/?start=2017-08-17T12:39:44&end=2017-08-17T12:43:04Z",
                                  "/?type=online&start=1&end=2"])
def test_pages_render(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    html = r.get_data(as_text=True)
    assert 'id="scald-context"' in html and "/static/scald.js" in html and "/static/vendor/uPlot.iife.min.js" in html


def test_window_from_url(client):
    live = page_context(client.get("/?lookback=600&delay=5").get_data(as_text=True))["window"]
    assert live == {"mode": "online", "lookback": 600, "delay": 5, "start": None, "end": None}
    hist = page_context(client.get("/?start=2017-08-17T12:41:04&end=1187008982").get_data(as_text=True))["window"]
    assert hist["mode"] == "historical" and hist["start"] == 1187008882 and hist["lookback"] == 100


@pytest.mark.parametrize("path", ["/nope", "/index.html", "/api_", "/status/extra", "/a/b/c", "/navbar/image"])
def test_unknown_page_is_html_404(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "Not found" in r.get_data(as_text=True) and 'class="navbar"' in r.get_data(as_text=True)


def test_api_errors_stay_json(client):
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.mimetype == "application/json"


@pytest.mark.parametrize("query", ["lookback=abc", "lookback=0", "lookback=-5", "delay=nan", "start=5",
                                   "start=10&end=5", "start=yesterday&end=1", "end=inf&start=1", "lookback=1e300"])
def test_bad_parameters_are_html_400(client, query):
    r = client.get(f"/?{query}")
    assert r.status_code == 400, query
    assert r.mimetype == "text/html"
    assert "Bad request" in r.get_data(as_text=True)


def test_user_text_is_escaped(client):
    for path in ("/", "/status", "/latest", "/nope"):
        html = client.get(path).get_data(as_text=True)
        assert XSS not in html, path
        assert "<script>alert" not in html
    html = client.get("/").get_data(as_text=True)
    assert "Quick &lt;script&gt;alert(1)&lt;/script&gt;" in html  # navbar title, as text
    assert "Overview &lt;script&gt;" in html
    ctx = page_context(html)  # in the JSON document: \u003c escapes, same value once parsed
    assert ctx["title"] == f"Overview {XSS}"
    assert any(p["title"] == f"BNS range {XSS}" for p in ctx["plots"])


def test_templates_never_mark_safe():
    for path in (WEB / "templates").glob("*.html"):
        text = path.read_text()
        assert "|safe" not in text.replace(" ", ""), path
        assert "autoescape false" not in text, path


def test_tab_links_cannot_run_script(tmp_path):
    tabs = [{"name": "evil", "url": "javascript:alert(1)"}, {"name": "data", "url": " DATA:text/html,x"},
            {"name": "ok", "url": "https://ldas.example.org/~me/"}, {"name": "rel", "url": "other/page.html"}]
    app = create_app(config.load(str(write_config(tmp_path, tabs=tabs))))
    html = app.test_client().get("/").get_data(as_text=True)
    assert "javascript:" not in html.lower() and "data:text" not in html.lower()
    assert 'href="https://ldas.example.org/~me/"' in html and 'href="other/page.html"' in html


def test_plot_context(client):
    ctx = page_context(client.get("/").get_data(as_text=True))
    plots = {p["name"]: p for p in ctx["plots"]}
    assert plots["latency"]["query"] == {"measurement": "latency_history", "column": "data", "tag_key": "job",
                                         "tags": ["0000", "0001", "0002", "0003"], "aggregate": "max", "scale": None}
    assert plots["latency"]["grid"] == {"x": 0, "y": 0, "w": 6, "h": 4} and plots["latency"]["ylabel"] == "Latency [s]"
    assert plots["snr"]["type"] == "TimeHeatMap" and plots["snr"]["query"]["column"] == "snr"
    assert plots["latest_snr"]["type"] == "Bar" and plots["latest_snr"]["supported"]
    # the threshold checks on a plotted column are drawn as lines
    lines = {(t["check"], t["level"]): (t["lo"], t["hi"]) for t in plots["range"]["thresholds"]}
    assert lines == {("range_bns", "warning"): (100, None), ("range_bns", "critical"): (60, None)}
    # leap seconds: the server's table, so the browser converts GPS -> UTC with 18 s today
    assert ctx["leap"][-1] == [1167264017, 1483228800, 18]
    # the levels and points budget plots pick their dt from (io.store.pick_level's rule): the server's, not a copy
    assert (ctx["levels"], ctx["max_points"]) == ([1, 10, 100, 1000, 10000, 100000], 2000)
    assert abs(ctx["server_gps"] - (time.time() - 315964800 + 18)) < 5
    # a MultiAxis over a plain schema is one axis of it (ligo-scald would have failed on it): drawn, not refused
    latest = page_context(client.get("/latest").get_data(as_text=True))
    assert [p["supported"] for p in latest["plots"]] == [True, True]
    assert latest["plots"][1]["subs"][0]["query"]["measurement"] == "snr_history"


def test_pages_preload_the_whole_module_graph(client):
    """Every page lists the entry module's whole static import graph as modulepreload links, so the browser fetches
    it in one round trip instead of one per level of imports; today that is every module shipped."""
    from scald_monitor.serve.pages import module_graph

    static = WEB / "static"
    shipped = {str(p.relative_to(static)) for p in static.rglob("*.js") if "vendor" not in p.parts}
    graph = module_graph(str(static))
    assert graph[0] == "scald.js" and len(set(graph)) == len(graph)
    assert set(graph) == shipped, set(graph) ^ shipped
    for path in ("/", "/status", "/nope"):
        html = client.get(path).get_data(as_text=True)
        links = re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html)
        assert links == list(graph), path
    # what a module imports is found whatever the import's layout: multi-line, side effect only, quotes
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "js").mkdir()
        Path(tmp, "scald.js").write_text('import { a,\n  b } from "./js/a.js";\nimport \'./js/b.js\';\n')
        Path(tmp, "js", "a.js").write_text('export const a = 1, b = 2;\nimport { c } from "../js/c.js";\n'
                                           '// from "not/relative.js"\n')
        Path(tmp, "js", "b.js").write_text("import './a.js'; export {};\n")
        Path(tmp, "js", "c.js").write_text("export const c = 3;\n")
        assert module_graph(tmp) == ("scald.js", "js/a.js", "js/b.js", "js/c.js")


def test_every_plot_type_is_drawn_by_the_page():
    """serve/pages.py SUPPORTED_PLOTS, the config schema's plot types and js/plots/index.js PLOT_TYPES agree: a type
    the config accepts is one the page draws (else it would be a blank panel)."""
    from scald_monitor.serve.pages import SUPPORTED_PLOTS

    doc = json.loads((ROOT / "scald_monitor" / "schema" / "config.schema.json").read_text())
    accepted = {t for t in doc["$defs"]["plot"]["properties"]["type"]["enum"] if t is not None}
    index = (WEB / "static" / "js" / "plots" / "index.js").as_uri()
    drawn = json.loads(node_eval(f"import('{index}').then(m => console.log(JSON.stringify(Object.keys(m.PLOT_TYPES))))"))
    assert accepted == set(SUPPORTED_PLOTS) == set(drawn)
    html = (WEB / "static" / "js" / "plots" / "index.js").read_text()
    assert "not drawn" not in html and "unsupported" not in html


def test_served_files_have_no_external_urls(client):
    """No page, stylesheet or script we serve names another host (outside comments): the dashboard must work
    with no internet, and must not leak who looks at it."""
    seen = set()
    for path in ("/", "/latest", "/status", "/nope"):
        html = client.get(path).get_data(as_text=True)
        assert not EXTERNAL.search(strip_comments(html)), path
        seen.update(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    for path in (WEB / "static").rglob("*"):
        if path.suffix in (".js", ".css", ".html"):
            seen.add("/static/" + path.relative_to(WEB / "static").as_posix())
    assert {"/static/scald.js", "/static/scald.css", "/static/vendor/uPlot.iife.min.js"} <= seen
    for url in sorted(seen):
        r = client.get(url)
        assert r.status_code == 200, url
        assert not EXTERNAL.search(strip_comments(r.get_data(as_text=True))), url


def test_external_tab_is_only_a_link(tmp_path):
    """A navbar tab may point anywhere (it is navigation, not a request); nothing else may."""
    app = create_app(config.load(str(write_config(tmp_path, tabs=[{"name": "Docs", "url": "https://example.org/d"}]))))
    html = app.test_client().get("/").get_data(as_text=True)
    urls = EXTERNAL.findall(strip_comments(html))
    assert len(urls) == 1 and '<a class="tab" href="https://example.org/d"' in html


NODE = shutil.which("node") or "/usr/bin/node"
JS_MODULES = sorted((WEB / "static" / "js").rglob("*.js"))


def node_eval(script: str, *args: str) -> str:
    """Run an ES-module snippet under Node (``.ci/run`` installs it; missing is a failure, never a skip)."""
    if not os.path.exists(NODE):
        pytest.fail("node is not installed (bash .ci/run installs nodejs)")
    r = subprocess.run([NODE, "--input-type=module", "-e", script, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_page_picks_levels_by_the_servers_rule(client):
    """The page has no resolution table or picker of its own: web/static/js/levels.js applies the rule of the
    server's pick_level (the one the API uses for a read naming no dt) to the levels and budget the page context
    hands it, and gives the same level for every span and budget."""
    from scald_monitor.io.schema import LEVELS
    from scald_monitor.serve import params

    ctx = page_context(client.get("/").get_data(as_text=True))
    assert ctx["levels"] == list(LEVELS) and ctx["max_points"] == params.MAX_POINTS
    spans = [0, 0.5, 1, 599, 600, 1300, 2000, 2000.5, 2001, 3600, 20000, 20001, 86400, 604800, 2592000, 3.15e7, 2e8,
             2e9, 3.2e9, 1e12]
    cases = [(span, budget) for span in spans for budget in (1, 60, 100, 1300, ctx["max_points"], 4000)]
    levels_js = (WEB / "static" / "js" / "levels.js").as_uri()
    out = node_eval(f"import {{ pickLevel }} from {json.dumps(levels_js)};"
                    "const [levels, cases] = JSON.parse(process.argv[1]);"
                    "console.log(JSON.stringify(cases.map(([span, budget]) => pickLevel(span, levels, budget))));",
                    json.dumps([ctx["levels"], cases]))
    page = json.loads(out)
    server = [params.pick_level(1e9, 1e9 + span, None, budget) for span, budget in cases]
    assert page == server, [(c, a, b) for c, a, b in zip(cases, page, server) if a != b]
    assert len(set(server)) == len(LEVELS)  # the table reaches every level, so a shifted rule would show


def test_no_front_end_module_keeps_a_state_table():
    """Every module reads the states and their order from the page context (``ctx.states``), never from a
    literal: the rule tests/test_states.py applies to the entry module, over the whole front end."""
    assert "ctx.states" in strip_comments((WEB / "static" / "scald.js").read_text())
    names = r'"(?:OK|WARNING|CRITICAL|UNKNOWN)"'
    for path in [WEB / "static" / "scald.js", *JS_MODULES]:
        js = strip_comments(path.read_text())
        assert not re.search(r"\b(OK|WARNING|CRITICAL|UNKNOWN)\s*:\s*\d", js), f"a severity table in {path.name}"
        assert not re.search(rf"\[\s*{names}\s*,\s*{names}", js), f"a list of state names in {path.name}"
        assert not re.search(r"\bDTS\b|\[\s*1\s*,\s*10\s*,\s*100\b", js), f"a table of levels in {path.name}"


def test_vendor_readme_lists_every_file():
    vendor = WEB / "static" / "vendor"
    readme = (vendor / "README.md").read_text()
    for path in vendor.iterdir():
        if path.name == "README.md":
            continue
        assert f"`{path.name}`" in readme, path.name
        if path.suffix in (".js", ".css"):
            assert hashlib.sha256(path.read_bytes()).hexdigest() in readme, f"{path.name}: sha256 not in README"
    assert "npm pack uplot@1.6.32" in readme and "MIT" in readme
    total = sum(p.stat().st_size for p in vendor.iterdir())
    assert total < 100_000, f"vendored files grew to {total} bytes"


# ---- real browser ----------------------------------------------------------------------------------------------


def wait_http(url: str, timeout: float = 15) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def get_json(url: str):
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


class Server:
    """``scald serve`` on 127.0.0.1 when the CLI has it, else the same app under werkzeug in a thread."""

    def __init__(self, cfg_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = self.thread = self.server = None
        scald = BIN / "scald"
        has_cli = subprocess.run([str(scald), "serve", "--help"], capture_output=True).returncode == 0
        if has_cli:
            self.proc = subprocess.Popen([str(scald), "serve", "-c", str(cfg_path), "--hostname", "127.0.0.1",
                                          "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        else:
            from werkzeug.serving import make_server

            app = create_app(config.load(str(cfg_path)))
            self.server = make_server("127.0.0.1", self.port, app, threaded=True)
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()
        wait_http(self.url + "/api/checks")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.server is not None:
            self.server.shutdown()
            self.thread.join(10)


def live_fill(cfg_path: Path, duration: int) -> subprocess.Popen:
    """``scald fill`` of an hour of history, then live data each second for ``duration`` s; returns once it follows
    (its stderr drained from then on). The caller terminates it."""
    feeder = subprocess.Popen([str(BIN / "scald"), "fill", "-c", str(cfg_path), "--span", "3600", "--follow",
                               "--duration", str(duration)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    for line in feeder.stderr:
        if "writing live data" in line:
            break
    else:
        pytest.fail(f"scald fill exited {feeder.wait()} before following")
    threading.Thread(target=feeder.stderr.read, daemon=True).start()
    return feeder


def start_chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # explicit driver path: Selenium Manager never runs (it would try to download a driver)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


def wait_for(driver, script: str, timeout: float = 15, what: str = ""):
    """Poll a JS expression until it is truthy; its last value on timeout goes into the failure message."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or script}: {value!r}")
        time.sleep(0.2)


PLOTS_JS = """return [...document.querySelectorAll('figure.plot')].map(f => ({id: f.id, type: f.dataset.type,
  state: f.dataset.state, points: +f.dataset.points, fetches: +(f.dataset.fetches || 0),
  canvases: f.querySelectorAll('canvas').length, msg: f.querySelector('.plot-msg').textContent}))"""

# Pixels of the plot area (uPlot's canvas) that are neither background nor grid grey: proof something was drawn.
INK_JS = """const p = window.scald.plots[arguments[0]]; const u = p.u; const b = u.bbox;
  const d = u.ctx.getImageData(b.left, b.top, b.width, b.height).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) { const [r, g, bl, a] = [d[i], d[i+1], d[i+2], d[i+3]];
    if (a > 0 && (Math.max(r, g, bl) - Math.min(r, g, bl) > 40)) n++; }
  return n;"""

BOARD_JS = """return [...document.querySelectorAll('#board-rows tr.row')].map(tr => ({
  id: tr.id, state: tr.querySelector('td.state .badge').textContent,
  stale: !!tr.querySelector('td.state .badge.stale'), name: tr.querySelector('.check-name').textContent,
  summary: tr.querySelector('td.summary').textContent, when: tr.querySelector('td.when').textContent,
  marks: [...tr.querySelectorAll('td.state .badge.mark')].map(b => [b.textContent, b.title])}))"""

# The expanded check's state timeline: segments (canvas data attribute and window.scald.timelines), painted pixels.
TIMELINE_JS = """const c = document.querySelector('tr.details canvas.tl-strip'); if (!c) return null;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let ink = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
  const box = c.closest('.timeline');
  return +c.dataset.segments > 0 && ink > 0 && {segments: +c.dataset.segments, ink: ink,
    js: window.scald.timelines['range_bns'], label: c.getAttribute('aria-label'),
    legend: box.querySelector('.tl-legend').textContent, axis: box.querySelector('.tl-axis').textContent}"""


# A uPlot legend's cells (time or tag first, then one per series), the newest finite value of each series, the
# cursor's index (null: off the plot) and, for bars, every value.
LEGEND_FN = """((id) => { const u = window.scald.plots[id].u;
  const cells = [...u.root.querySelectorAll('.u-legend .u-series')].map(tr => tr.querySelector('.u-value').textContent);
  const newest = u.data.slice(1).map(col => { for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return col[i];
    return null; });
  return {cells, newest, idx: u.cursor.idx, values: u.data[1] ? [...u.data[1]] : []}; })"""
LEGEND_JS = "return " + LEGEND_FN + "(arguments[0])"


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


@pytest.mark.slow
def test_dashboard_in_chromium(tmp_path):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium/chromedriver are not installed (apt-get install chromium chromium-driver; "
                    "bash .ci/run does it)")
    import selenium  # noqa: F401 - a test dependency: an ImportError here is a failure, not a skip

    cfg_path = write_config(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    # one hour of history, then live data every second (the streaming plots must grow)
    feeder = live_fill(cfg_path, 120)
    server = driver = None
    try:
        run_once = [str(BIN / "scald-monitor"), "run", "--once", "-c", str(cfg_path)]
        assert subprocess.run(run_once, capture_output=True).returncode == 0
        server = Server(cfg_path)
        driver = start_chromium()

        # ---- dashboard page: every plot draws data
        driver.get(server.url + "/?lookback=600")
        plots = wait_for(driver, PLOTS_JS.replace("return ", "const ps = ", 1) +
                         "; return ps.filter(p => p.type !== 'MultiAxis').every(p => p.state === 'ready' && "
                         "p.points > 0) && ps", what="all plots ready")
        by_type = {p["type"]: p for p in plots}
        assert set(by_type) == {"TimeSeries", "TimeHeatMap", "Bar"}
        for p in plots:
            assert p["canvases"] >= 1 and p["msg"] == "", p
            ink = "return (() => { " + INK_JS.replace("arguments[0]", repr(p["id"])) + " })() > 50"
            wait_for(driver, ink, timeout=5, what=f"{p['id']} ({p['type']}) to draw on its canvas")
        assert by_type["TimeSeries"]["points"] > 4 * 100  # four jobs, 10 minutes at 1 s buckets
        assert by_type["Bar"]["points"] == 4
        # the hostile plot title is shown as text, and nothing ran
        titles = driver.execute_script("return [...document.querySelectorAll('.plot-title')].map(e => e.textContent)")
        assert f"BNS range {XSS}" in titles
        assert driver.execute_script("return document.querySelectorAll('main script, .navbar script').length") == 0

        # ---- time: the navbar clock shows UTC and GPS 18 s apart (leap seconds), matching the server's clock
        utc, gps = driver.execute_script("return [document.getElementById('clock-utc').textContent, "
                                         "document.getElementById('clock-gps').textContent]")
        import calendar

        unix = calendar.timegm(time.strptime(utc, "%Y-%m-%d %H:%M:%S UTC"))
        assert int(gps.split()[1]) - (unix - 315964800) == 18  # 18 s: both lines written from one reading
        from scald_monitor.timeutil import gps_now

        assert abs(driver.execute_script("return window.scald.gpsNow()") - gps_now()) < 3
        # the head's window ends at the clock's second (one source of "now"), whenever one looks
        delay = driver.execute_script("return JSON.parse(document.getElementById('scald-context').textContent)"
                                      ".window.delay")
        assert delay == 0
        for _ in range(12):
            utc, gps, head = driver.execute_script(
                "return ['clock-utc', 'clock-gps', 'window-text'].map(id => document.getElementById(id).textContent)")
            m = re.fullmatch(r"live · (\S+ \S+) – (\d\d:\d\d:\d\d) UTC · GPS (\d+)–(\d+)", head)
            assert m, head
            assert (m.group(2), m.group(4)) == (utc[11:19], gps.split()[1]), (head, utc, gps)
            assert int(m.group(4)) - int(m.group(3)) == 600, head
            time.sleep(0.25)

        # ---- legends: the newest values with the cursor off the plots (not "–"), the cursor's values over them
        ts_id = next(p["id"] for p in plots if p["type"] == "TimeSeries")
        bar_id = next(p["id"] for p in plots if p["type"] == "Bar")
        legend = driver.execute_script(LEGEND_JS, ts_id)
        assert legend["idx"] is None and len(legend["cells"]) == 5, legend  # time + four jobs
        assert legend["cells"][0].startswith("newest · ") and " UTC · GPS " in legend["cells"][0], legend
        for text, value in zip(legend["cells"][1:], legend["newest"]):
            assert value is not None and float(text) == pytest.approx(value, rel=1e-3), legend
        bars = driver.execute_script(LEGEND_JS, bar_id)
        assert bars["cells"][0].endswith(" (highest)"), bars
        assert float(bars["cells"][1]) == pytest.approx(max(v for v in bars["values"] if v is not None), rel=1e-3), bars
        from selenium.webdriver.common.action_chains import ActionChains

        over = driver.execute_script("return window.scald.plots[arguments[0]].u.over", ts_id)
        ActionChains(driver).move_to_element(over).perform()
        hovered = wait_for(driver, f"const l = {LEGEND_FN}({ts_id!r}); return l.idx != null && l",
                           what="the legend to follow the cursor", timeout=5)
        assert not hovered["cells"][0].startswith("newest") and " UTC · GPS " in hovered["cells"][0], hovered
        ActionChains(driver).move_to_element(driver.find_element("css selector", ".page-head h1")).perform()
        wait_for(driver, f"const l = {LEGEND_FN}({ts_id!r}); return l.idx == null && "
                 "l.cells[0].startsWith('newest · ')", what="the legend back to the newest values", timeout=5)

        # ---- streaming: new points are appended by tail requests (the window slides, so the total stays ~flat)
        first = {p["id"]: p for p in driver.execute_script(PLOTS_JS)}
        ts_id = next(i for i, p in first.items() if p["type"] == "TimeSeries")
        newest0 = float(driver.execute_script(f"return document.getElementById('{ts_id}').dataset.newest"))
        grown = wait_for(driver, f"const f = document.getElementById('{ts_id}'); "
                         f"return +f.dataset.newest >= {newest0 + 3} && +f.dataset.appended >= 8 && "
                         f"+f.dataset.fetches >= {first[ts_id]['fetches'] + 2} && "
                         "[+f.dataset.newest, +f.dataset.appended, +f.dataset.points]", timeout=12,
                         what="the streaming plot to append points")
        assert grown[2] >= first[ts_id]["points"] - 4 * 3  # the oldest seconds left the window, new ones came
        urls = requested_urls(driver)
        series = [u for u in urls if "/api/timeseries/latency_history/" in u]
        assert len(series) >= 3
        spans = [tuple(int(x) for x in re.search(r"/(\d+)/(\d+)\?", u).groups()) for u in series]
        assert spans[0][1] - spans[0][0] >= 590  # the first request reads the window...
        assert all(end - start <= 30 for start, end in spans[1:]), spans  # ...the later ones only the tail
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # the whole page in the screenshot
            "width": 1400, "height": min(max(height, 1000), 2000), "deviceScaleFactor": 1, "mobile": False})
        time.sleep(0.5)  # plots refit in the next animation frame
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        # ---- status board: the daemon's states, as text
        assert subprocess.run(run_once, capture_output=True).returncode == 0
        expected = {p.stem: json.loads(p.read_text())["state_name"] for p in (tmp_path / "var" / "status").glob("*.json")}
        assert set(expected) == {"latency_heartbeat", "latency_threshold", "range_bns", "snr_max"}
        # an acknowledgement (its comment markup, shown as text) and a downtime, as the CLI writes them
        for args in (["ack", "range_bns", "--comment", f"on it {XSS}", "--author", "alice"],
                     ["downtime", "add", "latency_heartbeat", "--duration", "1h", "--comment", "maintenance"]):
            assert subprocess.run([str(BIN / "scald-monitor"), *args, "-c", str(cfg_path)]).returncode == 0
        driver.get(server.url + "/status")
        rows = wait_for(driver, BOARD_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 4 && rs",
                        what="four rows on the status board")
        marks = {r["name"]: r["marks"] for r in rows}
        assert marks["range_bns"] == [["ACK", f"acknowledged by alice: on it {XSS}"]], marks
        assert marks["latency_heartbeat"][0][0] == "DOWNTIME" and "maintenance" in marks["latency_heartbeat"][0][1]
        assert marks["snr_max"] == [] and marks["latency_threshold"] == []
        api = {c["name"]: c for c in get_json(server.url + "/api/checks")}
        for row in rows:
            name = row["name"]
            assert row["state"] == api[name]["state_name"], row
            if not api[name]["stale"]:
                assert row["state"] == expected[name], (row, expected)
            assert row["summary"] == api[name]["summary"]
            assert "UTC" in row["when"] or "no change" in row["when"]
        # worst first
        from scald_monitor.rules.result import BY_SEVERITY

        order = [s.name for s in BY_SEVERITY]
        ranks = [order.index(r["state"]) for r in rows]
        assert ranks == sorted(ranks, reverse=True)
        # filter, sort by name, expand a row (per-tag results, escaped description)
        from selenium.webdriver.common.by import By

        driver.find_element(By.ID, "board-filter").send_keys("range")
        assert [r["name"] for r in driver.execute_script(BOARD_JS)] == ["range_bns"]
        driver.find_element(By.CSS_SELECTOR, "#check-range_bns button.toggle").click()
        detail = wait_for(driver, "const d = document.querySelector('tr.details table.mini'); "
                          "return d && document.querySelector('tr.details').textContent", what="per-tag details")
        assert "job=0000" in detail and "job=0003" in detail and f"BNS range {XSS}" in detail
        # the state timeline of the expanded check: drawn on its canvas, with the same segments as text
        strip = wait_for(driver, TIMELINE_JS, what="the state timeline strip to be drawn")
        history = get_json(server.url + "/api/checks/range_bns/history")
        assert history["changes"], history  # the daemon ran twice: at least the first state is logged
        assert strip["segments"] >= 1 and strip["segments"] == len(strip["js"]) and strip["ink"] > 100, strip
        assert strip["js"][-1]["state"] == ["OK", "WARNING", "CRITICAL", "UNKNOWN"][history["changes"][-1]["state"]]
        assert strip["js"][-1]["state"] in strip["legend"] and "UTC" in strip["axis"]
        assert strip["js"][-1]["state"] in strip["label"] and "UTC" in strip["label"]  # not colour alone
        # "try thresholds": the check replayed with a critical range every value breaks, drawn under the live strip
        form = driver.find_element(By.CSS_SELECTOR, "tr.details form.trial")
        critical = form.find_element(By.NAME, "critical")
        critical.clear()
        critical.send_keys("1e9:")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        trial = wait_for(driver, "const s = window.scald.trials['range_bns']; return s && s.length && s",
                         what="the replayed timeline")
        assert trial[-1]["state"] == "CRITICAL", trial
        summary = wait_for(driver, "const e = document.querySelector('tr.details .trial-summary'); "
                           "return e && e.textContent", what="the replay's summary")
        assert "CRITICAL" in summary and "notification" in summary
        driver.find_element(By.ID, "board-filter").clear()
        driver.execute_script("const f = document.getElementById('board-filter'); f.value = '';"
                              "f.dispatchEvent(new Event('input'))")
        driver.find_element(By.CSS_SELECTOR, "th[data-sort=name] button").click()
        names = [r["name"] for r in driver.execute_script(BOARD_JS)]
        assert names == sorted(names, reverse=True) or names == sorted(names)
        driver.save_screenshot(str(ARTIFACTS / "status.png"))

        # ---- nothing but 127.0.0.1, no console errors, no alert ever
        hosts = {re.match(r"^[a-z-]+:(//[^/]*)?", u).group(0) for u in urls + requested_urls(driver)}
        assert hosts <= {f"http://127.0.0.1:{server.port}", "data:"}, hosts
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        assert driver.execute_script("return window.scald.errors") == []
        from selenium.common.exceptions import NoAlertPresentException

        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 - the access is the test
        assert time.monotonic() - t0 < 60
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.stop()
        feeder.terminate()
        feeder.wait(10)


# ---- no status_dir: the board shows the same live answer as /api/nagios -----------------------------------------

LIVE_CONFIG = """
backends:
  default: {backend: sqlite, path: store.sqlite}
schemas:
  lat: {measurement: latency_history, column: data, tag: job}
  empty: {measurement: empty_history, column: data}
checks:
  hot: {type: threshold, schema: lat, critical: "~:5", interval: 60}
  warm: {type: threshold, schema: lat, warning: "~:8", critical: "~:20", interval: 60}
  cool: {type: threshold, schema: lat, critical: "~:50", interval: 60}
  beat: {type: heartbeat, schema: lat, critical: 3600, interval: 60}
  none: {type: threshold, schema: empty, critical: "~:1", interval: 60}
"""
LIVE_STATES = {"hot": "CRITICAL", "warm": "WARNING", "cool": "OK", "beat": "OK", "none": "UNKNOWN"}


def live_config(tmp_path: Path) -> Path:
    """Deterministic states without any daemon: constant data (10 s) from two jobs over the last 200 s."""
    from scald_monitor.io.sqlite import Aggregator
    from scald_monitor.timeutil import gps_now

    (tmp_path / "scald.yml").write_text(LIVE_CONFIG)
    agg = Aggregator(path=tmp_path / "store.sqlite")
    agg.register_schema("latency_history", "data", tags="job")
    t = [gps_now() - 200 + i for i in range(200)]
    agg.store_columns("latency_history", {job: {"time": t, "fields": {"data": [10.0] * 200}} for job in ("0001", "0002")})
    agg.close()
    return tmp_path / "scald.yml"


def test_without_status_dir_checks_and_nagios_give_one_live_answer(tmp_path):
    from scald_monitor.rules.result import state_table

    client = create_app(config.load(str(live_config(tmp_path)))).test_client()
    entries = client.get("/api/checks").get_json()
    assert {c["name"]: c["state_name"] for c in entries} == LIVE_STATES
    for entry in entries:
        doc = client.get(f"/api/nagios/{entry['name']}").get_json()
        detail = client.get(f"/api/checks/{entry['name']}").get_json()
        assert entry["source"] == doc["source"] == detail["source"] == "evaluated"
        assert entry["state"] == doc["state"] == detail["state"] and entry["summary"] == doc["summary"]
        assert entry["stale"] is False and "outputs.status_dir is not configured" in entry["note"]
        assert entry["expires_unix"] > entry["created_unix"]
    ctx = page_context(client.get("/status").get_data(as_text=True))
    assert ctx["states"] == state_table()


class InProcessServer:
    """The app under werkzeug in a thread of this process (so that a test can patch what the server hands out)."""

    def __init__(self, cfg_path: Path):
        from werkzeug.serving import make_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, create_app(config.load(str(cfg_path))), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        wait_http(self.url + "/api/checks")

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


LIVE_BOARD_JS = BOARD_JS.replace("when: tr.querySelector('td.when').textContent",
                                 "live: !!tr.querySelector('td.state .badge.live'), "
                                 "nav: document.getElementById('nav-summary').textContent")


@pytest.mark.slow
def test_board_without_status_dir_in_chromium(tmp_path, monkeypatch):
    """The board and the navbar show what /api/nagios answers (LIVE, not "UNKNOWN STALE"), ranked in the order
    the server hands the page: patched on the server, the page's order follows."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium/chromedriver are not installed (apt-get install chromium chromium-driver; "
                    "bash .ci/run does it)")
    from scald_monitor.rules.result import state_table
    from scald_monitor.serve import pages

    server = InProcessServer(live_config(tmp_path))
    driver = None
    try:
        driver = start_chromium()
        driver.get(server.url + "/status")
        rows = wait_for(driver, LIVE_BOARD_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 5 && rs",
                        what="five rows on the status board")
        for row in rows:
            nagios = get_json(f"{server.url}/api/nagios/{row['name']}")
            assert row["state"] == nagios["state_name"] == LIVE_STATES[row["name"]], row
            assert row["live"] and not row["stale"], row
            assert row["summary"] == nagios["summary"]
        # worst first, in the server's order: CRITICAL > UNKNOWN > WARNING > OK; the navbar counts in that order
        assert [r["state"] for r in rows] == ["CRITICAL", "UNKNOWN", "WARNING", "OK", "OK"]
        assert rows[0]["nav"] == "1 CRITICAL · 1 UNKNOWN · 1 WARNING"
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "status-live.png"))

        # the page has no order of its own: hand it another one and it ranks by that
        reverse = [{**s, "severity": 3 - s["severity"]} for s in state_table()]
        monkeypatch.setattr(pages, "state_table", lambda: reverse)
        driver.get(server.url + "/status")
        rows = wait_for(driver, LIVE_BOARD_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 5 && rs",
                        what="five rows on the status board, again")
        assert [r["state"] for r in rows] == ["OK", "OK", "WARNING", "UNKNOWN", "CRITICAL"]
        assert rows[0]["nav"] == "1 WARNING · 1 UNKNOWN · 1 CRITICAL"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


# ---- the board across polls: keyed rows, one details request per poll, stale summaries, one clock ---------------


def need_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("chromium/chromedriver are not installed (apt-get install chromium chromium-driver; "
                    "bash .ci/run does it)")


# Every fetch the page made, as the browser recorded it (Resource Timing: start and response end, page-relative ms).
FETCHES_JS = """return performance.getEntriesByType('resource').filter(e => e.initiatorType === 'fetch').map(e => ({
  path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd}))"""


def list_polls(fetches: list[dict], after: float) -> list[dict]:
    return sorted((f for f in fetches if f["path"] == "/api/checks" and f["end"] > after), key=lambda f: f["end"])


def severe_errors(driver, allowed: tuple[str, ...] = ()) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)]


def test_board_keeps_focus_and_expanded_rows_across_polls(tmp_path, monkeypatch):
    """A poll updates the board in place: the rows expanded stay expanded (the very same elements), the control
    that has keyboard focus keeps it, and each expanded row costs exactly one details request per poll (its
    history is not read again while the check's state does not change)."""
    need_chromium()
    from selenium.webdriver.common.by import By

    from scald_monitor.serve import pages

    monkeypatch.setattr(pages, "STATUS_POLL", 1)  # polls every second: two polls in a few seconds
    server = InProcessServer(live_config(tmp_path))
    driver = None
    try:
        driver = start_chromium()
        driver.get(server.url + "/status")
        driver.execute_script("performance.setResourceTimingBufferSize(100000)")
        wait_for(driver, BOARD_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 5", what="five rows")
        for name in ("warm", "hot"):
            driver.find_element(By.CSS_SELECTOR, f"#check-{name} button.toggle").click()
            wait_for(driver, f"return !!document.querySelector('#check-{name} + tr.details .links a')",
                     what=f"the details of {name}")

        def survives(focus_js: str, what: str) -> dict:
            """Focus an element, wait for three more polls of /api/checks, and report what survived them."""
            t0 = driver.execute_script(
                "const el = " + focus_js + "; el.focus(); window.__focused = document.activeElement;"
                "window.__nodes = ['warm', 'hot'].flatMap(n => [document.getElementById('check-' + n),"
                "  document.querySelector(`#check-${n} + tr.details`)]);"
                "return window.__focused === el ? performance.now() : null")
            assert t0 is not None, f"{what} could not take focus"
            wait_for(driver, FETCHES_JS.replace("return ", "const fs = ", 1) +
                     f"; return fs.filter(f => f.path === '/api/checks' && f.end > {t0}).length >= 3",
                     timeout=10, what=f"three polls after focusing {what}")
            return driver.execute_script(
                "return {focused: document.activeElement === window.__focused && window.__focused.isConnected,"
                " active: document.activeElement.outerHTML.slice(0, 120),"
                " nodes: window.__nodes.every(n => n && n.isConnected),"
                " expanded: ['warm', 'hot'].map(n => document.querySelector(`#check-${n} button.toggle`)"
                "   .getAttribute('aria-expanded')),"
                " details: document.querySelectorAll('#board-rows tr.details').length, t0: " + str(t0) + "}")

        link = survives("document.querySelector('#check-warm + tr.details .links a')", "a link in the details")
        assert link["focused"], link
        assert link["nodes"] and link["expanded"] == ["true", "true"] and link["details"] == 2, link
        button = survives("document.querySelector('#state-filters button.s-OK')", "a state filter button")
        assert button["focused"], button
        assert button["nodes"] and button["expanded"] == ["true", "true"] and button["details"] == 2, button

        # requests: between two consecutive answers of /api/checks, one details request per expanded row
        fetches = driver.execute_script(FETCHES_JS)
        polls = list_polls(fetches, link["t0"])
        assert len(polls) >= 6, polls
        for name in ("warm", "hot"):
            starts = [f["start"] for f in fetches if f["path"] == f"/api/checks/{name}"]
            per_poll = [sum(1 for s in starts if a["end"] <= s < b["end"]) for a, b in zip(polls, polls[1:])]
            assert per_poll == [1] * len(per_poll), (name, per_poll)
            history = [f for f in fetches if f["path"] == f"/api/checks/{name}/history" and f["start"] > link["t0"]]
            assert history == [], (name, history)  # the state did not change: the history is not read again
            assert any(f["path"] == f"/api/checks/{name}/history" for f in fetches)  # but it was read on opening
        assert not any(f["path"].startswith("/api/checks/cool") for f in fetches)  # a closed row costs nothing
        assert severe_errors(driver) == []
        assert driver.execute_script("return window.scald.errors") == []
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


def stale_config(tmp_path: Path) -> Path:
    """LIVE_CONFIG with a status_dir the daemon never wrote: every check's result is missing, so stale."""
    path = live_config(tmp_path)
    (tmp_path / "status").mkdir()
    path.write_text(path.read_text() + f"outputs:\n  status_dir: {tmp_path / 'status'}\n")
    return path


STALE_JS = """return [...document.querySelectorAll('#board-rows tr.row')].map(tr => {
  const td = tr.querySelector('td.summary'), asOf = td.querySelector('.as-of');
  return {name: tr.querySelector('.check-name').textContent, rowStale: tr.classList.contains('is-stale'),
    asOf: asOf ? asOf.textContent : null, title: td.getAttribute('title'), colour: getComputedStyle(td).color,
    badge: !!tr.querySelector('td.state .badge.stale')}; })"""
MUTED = "rgb(101, 109, 118)"  # scald.css --muted


def test_stale_rows_say_their_summary_is_stale(tmp_path, monkeypatch):
    """A row whose summary is stale is greyed and says so in words, "stale · as of <UTC time>", with the reason
    on hover: when the daemon's result is missing, and when the API stops answering (the board keeps the last
    answer, which nobody can confirm any more)."""
    need_chromium()
    from scald_monitor.serve import pages

    monkeypatch.setattr(pages, "STATUS_POLL", 1)
    stale_dir, live_dir = tmp_path / "stale", tmp_path / "live"
    stale_dir.mkdir()
    live_dir.mkdir()
    stale = InProcessServer(stale_config(stale_dir))
    live = InProcessServer(live_config(live_dir))
    driver = None
    try:
        driver = start_chromium()
        # the daemon never wrote a result: every row is stale, as of the time of the summary it shows
        driver.get(stale.url + "/status")
        rows = wait_for(driver, STALE_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 5 && rs",
                        what="five rows")
        shown = {c["name"]: c for c in driver.execute_script("return window.scald.checks")}
        for row in rows:
            c = shown[row["name"]]
            assert c["stale"], c
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(c["created_unix"])))
            assert row["rowStale"] and row["badge"] and row["asOf"] == f"stale · as of {created} UTC", row
            assert abs(c["created_unix"] - time.time()) < 60
            assert "does not exist" in row["title"] and row["colour"] == MUTED, row

        # fresh answers are not stale; once the API stops answering, every row says since when it holds
        driver.get(live.url + "/status")
        rows = wait_for(driver, STALE_JS.replace("return ", "const rs = ", 1) + "; return rs.length === 5 && rs",
                        what="five fresh rows")
        assert all(not r["rowStale"] and r["asOf"] is None and r["colour"] != MUTED for r in rows), rows
        shown = {c["name"]: c for c in driver.execute_script("return window.scald.checks")}
        live.stop()
        rows = wait_for(driver, STALE_JS.replace("return ", "const rs = ", 1) +
                        "; return rs.length === 5 && rs.every(r => r.asOf) && rs", timeout=10,
                        what="every row stale after the API went away")
        for row in rows:
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(shown[row["name"]]["created_unix"])))
            assert row["rowStale"] and row["asOf"] == f"stale · as of {created} UTC", row
            assert "did not answer" in row["title"] and row["colour"] == MUTED, row
        note = driver.find_element("id", "board-updated").text
        assert note.startswith("API error") and "rows as of" in note, note
        assert driver.find_element("id", "nav-summary").text == "API unreachable"
        assert severe_errors(driver, allowed=("ERR_CONNECTION_REFUSED",)) == []
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "status-stale.png"))
    finally:
        if driver is not None:
            driver.quit()
        stale.stop()
        live.stop()


def test_every_now_on_the_page_is_the_servers_clock(tmp_path, monkeypatch):
    """With the browser's clock an hour off the server's, the navbar clock and the board's "updated" time both
    follow the server (one clock for the page), and agree with each other."""
    need_chromium()
    from scald_monitor.serve import pages
    from scald_monitor.timeutil import gps_now

    monkeypatch.setattr(pages, "gps_now", lambda: gps_now() + 3600)  # the server's clock as the page is told it
    server = InProcessServer(live_config(tmp_path))
    driver = None
    try:
        driver = start_chromium()
        driver.get(server.url + "/status")
        wait_for(driver, "return document.getElementById('board-updated').textContent.includes('updated')",
                 what="the board's first answer")
        utc, gps, note = driver.execute_script(
            "return ['clock-utc', 'clock-gps', 'board-updated'].map(id => document.getElementById(id).textContent)")
        assert abs(int(gps.split()[1]) - (gps_now() + 3600)) < 3, gps
        updated = re.search(r"updated (\d\d:\d\d:\d\d) UTC", note).group(1)
        clock = time.strptime(utc, "%Y-%m-%d %H:%M:%S UTC")
        seconds = lambda t: t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec  # noqa: E731
        gap = (seconds(clock) - seconds(time.strptime(updated, "%H:%M:%S"))) % 86400
        assert gap <= 7, (utc, note)  # the answer came at most a poll ago, on the same clock
        assert abs(driver.execute_script("return window.scald.gpsNow()") - (gps_now() + 3600)) < 3
    finally:
        if driver is not None:
            driver.quit()
        server.stop()


# ---- every plot type: examples/every-plot.yml filled by `scald fill` on SQLite ------------------------------------

EVERY_PLOT = ROOT / "examples" / "every-plot.yml"
ALL_TYPES = {"TimeSeries", "TimeHeatMap", "Bar", "Snapshot", "MultiAxis", "MultiSchema", "BinnedTimeHistogram", "IFAR",
             "TimeSegment"}

# Pixels of a panel that are not background: every canvas and SVG in it (uPlot's canvas holds the plot; a heatmap's
# image is painted on it too), counted as coloured (saturated) pixels, i.e. neither background, text nor grid grey.
PANEL_INK_JS = """const f = document.getElementById(arguments[0]); let n = 0;
  for (const c of f.querySelectorAll('.plot-body canvas')) { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 40) n++; }
  return n;"""

# The IFAR panel's trigger table: header keys and the rows' cells.
TABLE_JS = """const f = document.getElementById(arguments[0]);
  const heads = [...f.querySelectorAll('.trigger-table th')].map(th => th.textContent.replace(/[▲▼ ]+$/, ''));
  const rows = [...f.querySelectorAll('.trigger-table tbody tr')].map(tr => [...tr.children].map(td => td.textContent));
  return {heads, rows, sorted: f.querySelector('.trigger-table th[aria-sort]')?.textContent};"""


def every_plot_config(tmp_path: Path) -> Path:
    """examples/every-plot.yml with its SQLite file under ``tmp_path``."""
    raw = yaml.safe_load(EVERY_PLOT.read_text())
    raw["backends"]["default"]["path"] = str(tmp_path / "every.sqlite")
    path = tmp_path / "every-plot.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def store_psd(cfg_path: Path) -> None:
    """A PSD snapshot (ligo-scald's store_snapshot: data/dims) for the Snapshot panel; ``scald fill`` makes none."""
    from scald_monitor.cli import _open_backend
    from scald_monitor.timeutil import gps_now

    store = _open_backend(config.load(str(cfg_path)), "default")
    try:
        freqs = [10.0 * 1.05 ** k for k in range(120)]
        asd = [1e-23 * (1 + (30.0 / f) ** 4 + (f / 500.0) ** 2) for f in freqs]
        store.store_snapshot("psd", {"freq": freqs, "asd": asd}, {"x": "freq", "y": "asd"}, gps_now() - 60)
    finally:
        store.close()


def snapshot_route_answers(url: str) -> bool:
    """Whether the backend behind /api/snapshot stores snapshots (while it answers 404, the panel must be empty)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=5).read()
        return True
    except urllib.error.HTTPError as exc:
        assert exc.code == 404, exc
        return False


def check_every_plot_page(driver, base: str, port: int, historical: str | None = None, prefix: str = "plot-") -> dict:
    """Load the every-plot page (live, or ``historical`` query), wait for every panel, check each drew pixels and
    its type's own facts, and return the panels by type. One screenshot per panel type in test-artifacts/
    (``<prefix><type>[-historical].png``: each backend's run keeps its own)."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/" + (historical or ""))
    plots = wait_for(driver, PLOTS_JS.replace("return ", "const ps = ", 1) +
                     "; return ps.length === 9 && ps.every(p => p.state === 'ready' || "
                     "(p.type === 'Snapshot' && p.state === 'empty')) && ps", timeout=30, what="every panel drawn")
    by_type = {p["type"]: p for p in plots}
    assert set(by_type) == ALL_TYPES, by_type
    ids = {t: p["id"] for t, p in by_type.items()}
    w = driver.execute_script("return JSON.parse(document.getElementById('scald-context').textContent).window")
    gps = driver.execute_script("return window.scald.gpsNow()")
    start, end = (w["start"], w["end"]) if w["mode"] == "historical" else (gps - w["lookback"], gps)
    snapshots = snapshot_route_answers(f"{base}/api/snapshot/psd/{int(start)}/{int(end) + 1}?column=data")
    for kind, p in by_type.items():
        if kind == "Snapshot" and not snapshots:
            assert p["state"] == "empty" and p["msg"].startswith("no snapshot:"), p
            continue
        assert p["state"] == "ready" and p["points"] > 0, p
        ink = driver.execute_script(PANEL_INK_JS, p["id"])
        assert ink > 200, (kind, ink)
    # per-type facts: the histogram counted points into bins, the segment strip has runs, the IFAR table has rows
    fig = lambda kind, attr: driver.execute_script(f"return document.getElementById('{ids[kind]}').dataset.{attr}")  # noqa: E731
    assert int(fig("BinnedTimeHistogram", "counted")) > 0
    assert int(fig("TimeSegment", "segments")) >= 2  # the state steps between in and out every 300 s
    table = driver.execute_script(TABLE_JS, ids["IFAR"])
    assert table["heads"][:2] == ["time", "far"] and "snr" in table["heads"], table
    fars = [float(r[1]) for r in table["rows"]]
    assert fars and fars == sorted(fars) and max(fars) <= 1e-3  # FAR ascending by default, settings.far cut
    # sort by snr (click), then descending (click again)
    col = table["heads"].index("snr")
    header = driver.find_elements(By.CSS_SELECTOR, f"#{ids['IFAR']} .trigger-table th button")[col]
    header.click()
    header = driver.find_elements(By.CSS_SELECTOR, f"#{ids['IFAR']} .trigger-table th button")[col]
    header.click()
    snrs = [float(r[col]) for r in driver.execute_script(TABLE_JS, ids["IFAR"])["rows"]]
    assert snrs == sorted(snrs, reverse=True), snrs
    # a tighter FAR cut in the page: fewer triggers, every one under it
    cut = sorted(fars)[len(fars) // 2]
    box = driver.find_element(By.CSS_SELECTOR, f"#{ids['IFAR']} .trigger-table input")
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
                          box, repr(cut))
    after = driver.execute_script(TABLE_JS, ids["IFAR"])["rows"]
    assert 0 < len(after) and all(float(r[1]) <= cut for r in after), after
    assert int(fig("IFAR", "points")) < by_type["IFAR"]["points"]  # the curve follows the cut
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = "-historical" if historical else ""
    for kind, p in by_type.items():
        element = driver.find_element(By.ID, p["id"])
        driver.execute_script("arguments[0].scrollIntoView()", element)  # else a panel below the fold is cut off
        element.screenshot(str(ARTIFACTS / f"{prefix}{kind}{suffix}.png"))
    hosts = {re.match(r"^[a-z-]+:(//[^/]*)?", u).group(0) for u in requested_urls(driver)}
    assert hosts <= {f"http://127.0.0.1:{port}", "data:"}, hosts
    # the only console errors allowed: the browser's own line for /api/snapshot's 404, while it answers 404
    allowed = () if snapshots else ("/api/snapshot/",)
    assert severe_errors(driver, allowed) == []
    assert driver.execute_script("return window.scald.errors") == []
    return by_type


@pytest.mark.slow
def test_every_plot_type_in_chromium(tmp_path):
    """examples/every-plot.yml (one panel of every ligo-scald plot type), filled by ``scald fill`` on SQLite, live
    then historical: every panel draws pixels, live panels keep fetching (streaming) and historical ones fetch
    once; the trigger table sorts and cuts; no console error; nothing but 127.0.0.1."""
    need_chromium()
    cfg_path = every_plot_config(tmp_path)
    feeder = live_fill(cfg_path, 90)
    server = driver = None
    try:
        store_psd(cfg_path)
        server = Server(cfg_path)
        driver = start_chromium()
        live = check_every_plot_page(driver, server.url, server.port)
        time.sleep(5)  # two polls and more: every live panel fetched again
        again = {p["type"]: p for p in driver.execute_script(PLOTS_JS)}
        for kind, p in live.items():
            assert again[kind]["fetches"] > p["fetches"], (kind, p, again[kind])
        # historical: an hour ending ten minutes ago, drawn once
        gps = driver.execute_script("return window.scald.gpsNow()")
        hist = check_every_plot_page(driver, server.url, server.port,
                                     f"?start={int(gps) - 3000}&end={int(gps) - 600}")
        time.sleep(5)
        still = {p["type"]: p for p in driver.execute_script(PLOTS_JS)}
        for kind, p in hist.items():
            assert still[kind]["fetches"] == p["fetches"], (kind, p, still[kind])
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.stop()
        feeder.terminate()
        feeder.wait(10)
