"""HTTP details of ``scald serve`` an adversarial pass found, one regression test each.

- a 405 carries ``Allow`` (RFC 9110 §15.5.6 says it must; schemathesis' ST204);
- ``OPTIONS`` on an API route answers JSON, like every other answer under /api/ (Flask's own is an empty
  ``text/html`` body);
- every response, static files included, says ``X-Content-Type-Options: nosniff``;
- the OpenAPI document names the configured backends (an enum) and states the rules across parameters, end ≥ start
  first (schemathesis' ST202);
- GPS times and numbers are ASCII digits only (``\\d`` and ``float()`` take ``١٢٣`` as 123), matched whole (``$``
  let ``123\\n`` through), and a huge ``dt`` is a 400, not an ``OverflowError`` (500);
- a protocol-relative navbar URL (``//host/x``) is an external link, like ``https://host/x``.
"""
from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

import test_api as base
from scald_monitor.config import load
from scald_monitor.serve import create_app
from scald_monitor.serve.pages import is_external, navbar_context

T0 = base.T0
ALLOWED = "GET, HEAD, OPTIONS"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return base.make_env("sqlite", tmp_path_factory.mktemp("http"), "{backend: sqlite, path: store.sqlite}", True)


API_ROUTES = ["/api", "/api/", "/api/checks", "/api/checks/lat_max", "/api/checks/lat_max/history",
              "/api/nagios/lat_max", "/api/measurements", "/api/openapi.json",
              f"/api/timeseries/latency_history/{T0 - 9}/{T0}", f"/api/table/triggers/{T0 - 9}/{T0}",
              f"/api/snapshot/latency_history/{T0 - 9}/{T0}"]


# ---------------------------------------------------------------------------------------------------- methods


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "TRACE"])
@pytest.mark.parametrize("path", API_ROUTES)
def test_a_405_lists_the_allowed_methods(env, path, method):
    r = env.client.open(path, method=method)
    assert r.status_code == 405 and r.mimetype == "application/json", (path, method, r.status_code)
    assert r.headers["Allow"] == ALLOWED
    body = r.get_json()
    assert body["status"] == 405 and method in body["error"] and ALLOWED in body["error"]


@pytest.mark.parametrize("path", API_ROUTES)
def test_options_on_an_api_route_answers_json(env, path):
    r = env.client.options(path)
    assert r.status_code == 200 and r.mimetype == "application/json", (path, r.status_code, r.mimetype)
    assert r.headers["Allow"] == ALLOWED
    assert r.get_json() == {"allow": ["GET", "HEAD", "OPTIONS"], "openapi": "/api/openapi.json"}


def test_options_on_an_unknown_api_route_is_a_json_404(env):
    r = env.client.options("/api/nope")
    assert r.status_code == 404 and r.mimetype == "application/json" and r.get_json()["status"] == 404


def test_head_still_answers_like_get_without_a_body(env):
    r = env.client.head("/api/checks")
    assert r.status_code == 200 and r.mimetype == "application/json" and r.data == b""


# ---------------------------------------------------------------------------------------------------- nosniff


@pytest.mark.parametrize("path", ["/static/scald.js", "/static/scald.css", "/static/vendor/uPlot.iife.min.js",
                                  "/static/no-such-file.js", "/", "/status", "/no/such/page", "/api/checks",
                                  "/api/nope"])
def test_every_response_says_nosniff(env, path):
    r = env.client.get(path)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", (path, r.status_code, dict(r.headers))


# ---------------------------------------------------------------------------------------------------- openapi


def test_openapi_declares_backends_checks_and_the_end_rule(tmp_path):
    text = base.CONFIG.replace("BACKEND", "{backend: sqlite, path: a.sqlite}").replace(
        "  default: {backend", "  zeta: {backend: sqlite, path: z.sqlite}\n  default: {backend")
    (tmp_path / "scald.yml").write_text(text)
    cfg = load(str(tmp_path / "scald.yml"))
    doc = create_app(cfg).test_client().get("/api/openapi.json").get_json()
    from openapi_spec_validator import validate

    validate(doc)
    params = doc["components"]["parameters"]
    assert params["backend"]["schema"] == {"type": "string", "enum": ["default", "zeta"]}
    assert params["check"]["schema"] == {"type": "string", "enum": list(cfg.checks)}
    assert set(params["measurement"]["examples"]) == {s.measurement for s in cfg.schemas.values()}
    assert "end >= start" in params["end"]["description"]
    timeseries = doc["paths"]["/api/timeseries/{measurement}/{start}/{end}"]["get"]
    assert timeseries["x-parameter-rules"][0]["error_contains"] == "before start"
    assert "end must not be before start" in timeseries["responses"]["400"]["description"]
    # an empty query value is the parameter left out (ligo-scald's client sends dt= for null): documented
    assert all(p.get("allowEmptyValue") for p in params.values() if p["in"] == "query")
    # ... and the API does what the rule says
    body = json.loads(create_app(cfg).test_client().get(f"/api/timeseries/latency_history/{T0}/{T0 - 1}").data)
    assert body["status"] == 400 and "before start" in body["error"]


def test_the_bare_document_still_has_plain_strings():
    from scald_monitor.serve.openapi import openapi_document

    params = openapi_document()["components"]["parameters"]
    assert params["backend"]["schema"] == {"type": "string"} and params["check"]["schema"] == {"type": "string"}


# ---------------------------------------------------------------------------------------------------- numbers


NOT_ASCII_DIGITS = ["١٢٣", "１２３", "۱۲۳", "१२३", "𝟏𝟐𝟑", "12٣", "1٫5", "123\n", "\n123", " 123", "123 ", "1_000",
                    "0x10", "nan", "inf", "1e", "+", "."]


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("where", ["start", "end"])
def test_gps_times_are_ascii_digits_only(env, text, where):
    start, end = (text, str(T0)) if where == "start" else ("0", text)
    path = f"/api/timeseries/latency_history/{urllib.parse.quote(start, safe='')}/{urllib.parse.quote(end, safe='')}"
    r = env.client.get(path)
    assert r.status_code == 400 and r.mimetype == "application/json", (text, r.status_code)
    body = r.get_json()
    assert body["status"] == 400 and body["error"].startswith(f"{where} must be GPS seconds"), body


@pytest.mark.parametrize("name", ["far", "fill", "default", "dt"])
@pytest.mark.parametrize("text", ["١", "١٠", "１０", "1٠"])
def test_query_numbers_are_ascii_digits_only(env, name, text):
    route = "latest" if name == "default" else ("table" if name == "far" else "timeseries")
    r = env.client.get(f"/api/{route}/latency_history/{T0 - 9}/{T0}", query_string={name: text})
    assert r.status_code == 400 and r.get_json()["error"].startswith(f"{name} must be"), (name, text, r.data)


@pytest.mark.parametrize("dt", ["9" * 400, "1" + "0" * 309, "1" * 5000 + ".0"])
def test_a_huge_dt_is_a_400_not_an_overflow(env, dt):
    r = env.client.get(f"/api/timeseries/latency_history/{T0 - 9}/{T0}", query_string={"dt": dt})
    assert r.status_code == 400 and r.get_json()["error"].startswith("dt must be one of"), r.data[:200]


def test_ascii_times_in_every_notation_still_work(env):
    for start, end in ((T0 - 9, T0), (f"{T0 - 9}.0", f"{T0}.5"), (f"{(T0 - 9) / 1e9!r}e9", f"+{T0}")):
        r = env.client.get(f"/api/timeseries/latency_history/{start}/{end}", query_string={"dt": "1"})
        assert r.status_code == 200 and r.get_json()[0]["x"], (start, end, r.data[:200])


# ---------------------------------------------------------------------------------------------------- navbar


@pytest.mark.parametrize("url,external", [
    ("https://ldas.example.org/~me/", True), ("HTTP://host/x", True), ("mailto:ops@example.org", True),
    ("//host/x", True), (" //host/x", True), ("/\\host/x", True), ("\\\\host\\x", True), ("/\t/host/x", True),
    ("/api/openapi.json", False), ("other/page.html", False), ("./x", False), ("../x", False), ("#top", False),
    ("?lookback=60", False), ("/x//y", False),
])
def test_protocol_relative_urls_are_external(url, external):
    assert is_external(url) is external


def _dashboard_config(tmp_path, navbar: dict):
    text = base.CONFIG.replace("BACKEND", "{backend: sqlite, path: store.sqlite}")
    raw = yaml.safe_load(text)
    raw["navbar"] = {"title": "T", **navbar}
    raw["pages"] = {"index": {"title": "Home", "plots": []}}
    (tmp_path / "scald.yml").write_text(yaml.safe_dump(raw))
    return load(str(tmp_path / "scald.yml"))


def test_navbar_tabs_say_which_links_leave_the_server(tmp_path):
    tabs = [{"name": "cdn", "url": "//cdn.example.org/docs"}, {"name": "abs", "url": "https://example.org/d"},
            {"name": "local", "url": "/api/openapi.json"}, {"name": "rel", "url": "status"}]
    app = create_app(_dashboard_config(tmp_path, {"tabs": tabs}))
    with app.test_request_context("/"):
        got = {t["name"]: (t["href"], t["external"]) for t in navbar_context("")["tabs"]}
    assert got == {"cdn": ("//cdn.example.org/docs", True), "abs": ("https://example.org/d", True),
                   "local": ("/api/openapi.json", False), "rel": ("status", False)}


def test_a_protocol_relative_navbar_image_is_a_remote_url_not_a_local_file(tmp_path):
    """``//tmp/.../logo.png`` names the host ``tmp``, not the file ``/tmp/.../logo.png`` (which exists here):
    remote images are ignored, so the page shows the title and never points the browser at another host."""
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n")
    local = create_app(_dashboard_config(tmp_path, {"image": str(logo)}))
    assert 'src="/navbar/image"' in local.test_client().get("/").get_data(as_text=True)  # a local file: shown
    remote = create_app(_dashboard_config(tmp_path, {"image": "/" + str(logo)}))
    html = remote.test_client().get("/").get_data(as_text=True)
    assert "/navbar/image" not in html and remote.test_client().get("/navbar/image").status_code == 404


@pytest.fixture(scope="module")
def page_client(tmp_path_factory):
    """The quickstart's pages (an index page with a live window) over an empty store."""
    from scald_monitor.config import load
    from scald_monitor.serve import create_app

    directory = tmp_path_factory.mktemp("pages")
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "quickstart.yml").read_text())
    raw["backends"]["default"]["path"] = str(directory / "absent.sqlite")
    raw["outputs"] = {}
    (directory / "scald.yml").write_text(yaml.safe_dump(raw))
    return create_app(load(str(directory / "scald.yml"))).test_client()


@pytest.mark.parametrize("value", ["١٢٠", "1_000", "nan", "0x10", "1e400"])
def test_page_parameters_are_ascii_decimal_numbers_too(page_client, value):
    """The pages' ?lookback=/?delay=/?start=/?end= follow the API's rule for numbers: Python's float() also takes
    Unicode digits, underscores and 'nan', which a URL must not smuggle in."""
    assert page_client.get("/", query_string={"lookback": "120"}).status_code == 200
    for name in ("lookback", "delay"):
        r = page_client.get("/", query_string={name: value})
        assert r.status_code == 400, (name, value, r.status_code)
