"""`scald report`: every block type rendered offline, escaping, relative links, no external URL, bad configs → 2."""
from __future__ import annotations

import json
import math
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from scald_monitor import report as report_mod
from scald_monitor import svgplot
from scald_monitor.cli import scald

XSS = "<script>alert(1)</script>"


def _png(path: Path) -> None:
    """A valid 1x1 PNG (browsers and the test agree it is an image)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00\xff\x00\x00"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _write_inputs(src: Path) -> None:
    (src / "plots").mkdir()
    (src / "figs").mkdir()
    t0 = 1187008882
    (src / "plots" / "snr.json").write_text(json.dumps([
        {"x": [t0 + i for i in range(300)], "y": [math.sin(i / 9) for i in range(300)], "name": "H1"},
        {"x": [t0 + i for i in range(300)], "y": [None if i == 50 else math.cos(i / 9) for i in range(300)],
         "name": "L1"},
    ]))
    (src / "plots" / "range.json").write_text(json.dumps([{"x": [1, 2, 3], "y": [10, 100, 1000], "name": XSS}]))
    (src / "plots" / "heat.json").write_text(json.dumps([{"type": "heatmap", "z": [[1, 2], [3, None]]}]))
    (src / "plots" / "bars.json").write_text(json.dumps([{"type": "bar", "x": ["H1", "L1"], "y": [3, 5]}]))
    (src / "events.json").write_text(json.dumps({
        "items": [{"gps": t0, "snr": 32.4, "ifo": XSS}, {"gps": t0 + 1, "snr": 9.1, "ifo": "L1"}],
        "fields": ["gps", {"key": "snr", "label": "SNR"}, "ifo"],
    }))
    for name in ("a.png", "b.png", "c.png"):
        _png(src / "figs" / name)
    _png(src / "logo.png")
    (src / "extra.css").write_text("h2 { color: #333; }\n")


CONFIG = f"""
report:
  title: "Weekly {XSS} report"
  image: logo.png
  css: extra.css
  tabs:
    - name: Summary
      content:
        - {{name: header, header: "Run {XSS} summary"}}
        - {{name: description, description: "Some text with {XSS} in it.\\nSecond line."}}
        - {{name: flat_table, title: Events, columns: [gps, "snr {XSS}"], rows: [[1187008882, 32.4], [1, "{XSS}"]]}}
        - name: plot
          title: "SNR {XSS}"
          path: plots/snr.json
          layout: {{yaxis: {{title: {{text: Alpha axis}}}}, xaxis: {{title: GPS time}}}}
          data_options: {{H1: {{line: {{color: "#123456"}}}}}}
        - {{name: plot, title: Second, url: plots/snr.json}}
        - {{name: plot, title: Inline, data: [{{x: [0, 1, 2], y: [1, 4, 9], mode: markers}}]}}
        - {{name: table, title: Event table, path: events.json, footer: from the pipeline, visible: false}}
        - {{name: image, path: figs/a.png, caption: "{XSS}"}}
        - {{name: footer, footer: the end}}
    - name: Images & plots
      content:
        - {{name: image_grid, title: Grid, grid_size: 3, glob: "figs/*.png"}}
        - {{name: image_board, title: Board, images: [[figs/a.png, figs/b.png], [figs/c.png]]}}
        - {{name: image_pagination, title: Pages, images: [figs/a.png, {{path: figs/b.png, title: B}}]}}
        - name: plot_grid
          title: Grid of plots
          grid_size: 2
          plots:
            - {{title: Range, path: plots/range.json, layout: {{yaxis: {{type: log}}}}}}
            - {{title: Heat, path: plots/heat.json}}
            - {{name: plot, title: Bars, path: plots/bars.json}}
    - {{name: Sibling report, url: ../other/index.html}}
"""


class _Tags(HTMLParser):
    """Collects href/src attribute values and checks that non-void tags are balanced."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "rect", "line", "circle", "path", "stop", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("href", "src") and v is not None]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("href", "src") and v is not None]

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _run(*args: str):
    return CliRunner().invoke(scald, list(args))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    _write_inputs(src)
    cfg = src / "report.yml"
    cfg.write_text(CONFIG)
    out = tmp_path_factory.mktemp("site") / "out"
    result = _run("report", "-c", str(cfg), "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


def _pages(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(out.glob("*.html"))}


def test_files_written(site):
    assert sorted(_pages(site)) == ["images_plots.html", "index.html"]
    assert (site / "static" / "report.css").is_file()
    assert (site / "static" / "extra.css").is_file()
    assert sorted(p.name for p in (site / "data").iterdir()) == ["bars.json", "events.json", "heat.json",
                                                                  "range.json", "snr.json"]
    assert sorted(p.name for p in (site / "images").iterdir()) == ["a.png", "b.png", "c.png", "logo.png"]
    index = _pages(site)["index.html"]
    for text in ("Event table", "from the pipeline", "the end", "Second line", "Images &amp; plots"):
        assert text in index
    assert index.count("<svg") == 3 and "<table" in index


def test_no_script_and_everything_escaped(site):
    for name, html in _pages(site).items():
        assert "<script" not in html.lower(), name
        assert "javascript:" not in html.lower(), name
    index = _pages(site)["index.html"]
    assert index.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6  # title x2, header, text, table, caption...
    grid = _pages(site)["images_plots.html"]
    assert "&lt;script&gt;" in grid  # a trace name in the legend


def test_links_are_relative_and_resolve(site):
    for name, html in _pages(site).items():
        parser = _Tags()
        parser.feed(html)
        assert not parser.errors and not parser.stack, (name, parser.errors, parser.stack)
        assert parser.refs, name
        for ref in parser.refs:
            assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", ref, re.I), (name, ref)
            target = ref.split("#")[0]
            if target == "../other/index.html":  # the user's own relative link tab, kept as written
                continue
            if target:
                assert (site / target).is_file(), (name, ref)


def test_no_external_url_anywhere(site):
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".css", ".yml", ".json", ".svg"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"https?://", text), path
            assert "@import" not in text and "url(http" not in text


def test_layout_and_data_options_do_not_leak(site):
    index = _pages(site)["index.html"]
    svgs = re.findall(r"<svg.*?</svg>", index, re.S)
    assert "Alpha axis" in svgs[0] and "GPS time" in svgs[0]
    assert "Alpha axis" not in svgs[1] and "GPS time" not in svgs[1]  # ligo-scald leaked layouts between plots
    assert svgs[0].count('stroke="#123456"') == 1  # per-trace data_options: H1 only
    assert "#123456" not in svgs[1]
    assert report_mod.DEFAULT_LAYOUT == {}


def test_gps_ticks_in_full_and_gaps(site):
    svg = re.findall(r"<svg.*?</svg>", _pages(site)["index.html"], re.S)[0]
    assert re.search(r">11870089\d\d<", svg)  # integer GPS labels, not 1.187e9
    l1 = re.findall(r'<path class="line" d="([^"]+)" stroke="#ff7f0e"', svg)[0]
    assert l1.count("M") == 2  # the null value breaks the line


def test_rebuild_from_saved_config(site, tmp_path):
    saved = site / "report.yml"
    assert "data/snr.json" in saved.read_text()
    again = tmp_path / "again"
    result = _run("report", "-c", str(saved), "-o", str(again))
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file()) == \
        sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    result = _run("report", "-c", str(saved), "-o", str(site))  # in place: sources are the copies themselves
    assert result.exit_code == 0, result.output


def test_tab_urls_are_links_as_in_ligo_scald(tmp_path):
    """A tab's url is a link, not an asset: off-site and relative ones are kept (nothing is fetched or copied);
    a scheme that would run code in the page is refused with the key named, and nothing is written."""
    (tmp_path / "r.yml").write_text("report:\n  tabs:\n    - {name: A, content: []}\n"
                                    "    - {name: Docs, url: 'https://example.org/docs'}\n"
                                    "    - {name: Mail, url: 'mailto:ops@example.org'}\n"
                                    "    - {name: Old, url: '../old/index.html'}\n")
    result = _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "index.html").read_text()
    for href in ("https://example.org/docs", "mailto:ops@example.org", "../old/index.html"):
        assert f'href="{href}"' in html
    out = tmp_path / "out"
    assert not [p for p in (out / "data").rglob("*")] + [p for p in (out / "images").rglob("*")]  # nothing copied
    # scripts written for the flag this once needed keep working
    again = _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "again"), "--allow-external-links")
    assert again.exit_code == 0, again.output
    for bad in ("javascript:alert(1)", "data:text/html,<b>x</b>", "//example.org/docs"):
        (tmp_path / "bad.yml").write_text(f"report:\n  tabs:\n    - {{name: A, content: []}}\n"
                                          f"    - {{name: X, url: '{bad}'}}\n")
        result = _run("report", "-c", str(tmp_path / "bad.yml"), "-o", str(tmp_path / "bad"))
        assert result.exit_code == 2 and "bad.yml:4: report.tabs[1].url:" in result.output, (bad, result.output)
        assert not (tmp_path / "bad").exists()


def test_ifar_and_trigger_table_blocks_from_the_config(tmp_path):
    """report.yml blocks ifar and trigger_table read a trigger file (ligo-scald's /api/table JSON); a row with a
    bad FAR is a config problem naming the file, key and row, exit 2, nothing written."""
    (tmp_path / "triggers.json").write_text(json.dumps({"items": [{**t, "likelihood": t["far"]} for t in TRIGGERS]}))
    (tmp_path / "r.yml").write_text(
        "report:\n  title: Triggers\n  tabs:\n    - name: Search\n      content:\n"
        "        - {name: ifar, title: Significance, path: triggers.json, livetime: 10000}\n"
        "        - {name: trigger_table, title: Loudest, path: triggers.json, far: 1.0e-4, far_key: likelihood}\n")
    result = _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "index.html").read_text()
    assert 'aria-label="Significance"' in html and ">expected background<" in html
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert [r[0] for r in rows] == ["103.0", "101.0"]  # likelihood (= FAR here) <= 1e-4, lowest first
    (tmp_path / "bad.json").write_text(json.dumps([TRIGGERS[0], {"time": 1.0, "far": "high"}]))
    (tmp_path / "bad.yml").write_text("report:\n  tabs:\n    - name: S\n      content:\n"
                                      "        - {name: ifar, path: bad.json}\n")
    result = _run("report", "-c", str(tmp_path / "bad.yml"), "-o", str(tmp_path / "bad"))
    assert result.exit_code == 2
    assert "bad.yml:5: report.tabs[0].content[0].path:" in result.output and "trigger 1: 'far'" in result.output
    assert not (tmp_path / "bad").exists()
    (tmp_path / "neg.yml").write_text("report:\n  tabs:\n    - name: S\n      content:\n"
                                      "        - {name: trigger_table, path: bad.json, far: -1}\n")
    result = _run("report", "-c", str(tmp_path / "neg.yml"), "-o", str(tmp_path / "bad"))
    assert result.exit_code == 2 and "report.tabs[0].content[0].far:" in result.output, result.output


BAD = [
    # (config text, line, key path, message fragment)
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plot, title: p}\n",
     5, "report.tabs[0].content[0]", "required: path (a JSON file of traces) or data"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plott, path: x.json}\n",
     5, "report.tabs[0].content[0].name", "did you mean 'plot'?"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: image, path: nope.png}\n",
     5, "report.tabs[0].content[0].path", "the image 'nope.png' not found"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: image, url: 'http://x.org/a.png'}\n",
     5, "report.tabs[0].content[0].url", "an offline report cannot fetch the image"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plot, path: bad.json}\n",
     5, "report.tabs[0].content[0].path", "not valid JSON"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plot, path: short.json}\n",
     5, "report.tabs[0].content[0].path", "trace 0: x has 3 values but y has 2"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plot, data: [{type: pie, values: [1]}]}\n",
     5, "report.tabs[0].content[0].data", "trace type 'pie' is not supported"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: flat_table, columns: [a, b], rows: [[1]]}\n",
     5, "report.tabs[0].content[0].rows[0]", "row has 1 value(s) but there are 2 columns"),
    ("report:\n  tabs:\n    - name: A\n      content:\n        - {name: table, path: list.json}\n",
     5, "report.tabs[0].content[0].path", "items must be a list of objects"),
    ("report:\n  titel: x\n  tabs: [{name: A, content: []}]\n", 2, "report.titel", "did you mean 'title'?"),
    ("report:\n  theme: dark\n  tabs: [{name: A, content: []}]\n", 2, "report.theme", "expected one of gwdetchar"),
    ("report:\n  title: x\n", 1, "report.tabs", "required: a list of tabs"),  # at its parent's line
    ("report:\n  tabs:\n    - {name: A, url: a.html}\n", 3, "report.tabs", "no tab has content"),
    ("report:\n  tabs:\n    - {content: []}\n", 3, "report.tabs[0].name", "required: the tab's name"),
    ("title: x\n", 1, "title", "unknown key"),
    ("report: [1, 2\n", 1, None, "invalid YAML"),
    ("- 1\n", 1, None, "expected a mapping with one key, report:"),
]


@pytest.mark.parametrize("text, line, key, message", BAD, ids=[b[3][:30] for b in BAD])
def test_bad_config_exits_2_with_file_key_problem(tmp_path, text, line, key, message):
    (tmp_path / "bad.json").write_text("[{'x': 1}]")
    (tmp_path / "short.json").write_text(json.dumps([{"x": [1, 2, 3], "y": [1, 2]}]))
    (tmp_path / "list.json").write_text(json.dumps({"items": [1, 2]}))
    cfg = tmp_path / "r.yml"
    cfg.write_text(text)
    result = _run("report", "-c", str(cfg), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    prefix = f"{cfg}:{line}: " + (f"{key}: " if key else "")
    assert any(ln.startswith(prefix) and message in ln for ln in result.output.splitlines()), result.output
    assert not (tmp_path / "out").exists()  # nothing written for a bad config


def test_every_problem_reported_at_once(tmp_path):
    cfg = tmp_path / "r.yml"
    cfg.write_text("report:\n  tabs:\n    - name: A\n      content:\n        - {name: plot}\n"
                   "        - {name: image, path: gone.png}\n        - {name: headr, header: x}\n")
    result = _run("report", "-c", str(cfg))
    assert result.exit_code == 2
    assert "3 problem(s) found" in result.output


def test_missing_config_file(tmp_path):
    result = _run("report", "-c", str(tmp_path / "nope.yml"))
    assert result.exit_code == 2 and "cannot read report configuration" in result.output


def test_paths_fall_back_to_cwd(tmp_path, monkeypatch):
    """ligo-scald resolved paths from the current directory; configs written that way keep working."""
    (tmp_path / "cfg").mkdir()
    _png(tmp_path / "pic.png")
    (tmp_path / "cfg" / "r.yml").write_text("report:\n  tabs: [{name: A, content: [{name: image, path: pic.png}]}]\n")
    monkeypatch.chdir(tmp_path)
    result = _run("report", "-c", "cfg/r.yml", "-o", "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "images" / "pic.png").is_file()


def test_same_basename_twice_gets_two_files(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        _png(tmp_path / d / "x.png")
        (tmp_path / d / "x.png").write_bytes((tmp_path / d / "x.png").read_bytes() + d.encode())
    (tmp_path / "r.yml").write_text("report:\n  tabs: [{name: A, content: [{name: image_grid, "
                                    "images: [a/x.png, b/x.png, a/x.png]}]}]\n")
    assert _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "out")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == ["x-2.png", "x.png"]
    html = (tmp_path / "out" / "index.html").read_text()
    assert html.count('src="images/x.png"') == 2 and html.count('src="images/x-2.png"') == 1


# ----------------------------------------------------------------------------------------------- svgplot units

def test_svg_ticks_log_and_categories():
    fig = svgplot.render([{"x": [1, 10, 100], "y": [1e-21, 1e-20, 1e-19]}], {"yaxis": {"type": "log"}})
    assert ">1e-20<" in fig.svg and "<script" not in fig.svg
    fig = svgplot.render([{"type": "bar", "x": ["a", "<b>"], "y": [1, 2], "name": "n"}], {})
    assert ">&lt;b&gt;<" in fig.svg and fig.legend == [("n", svgplot.COLORWAY[0])]
    assert "no data" in svgplot.render([{"x": [], "y": []}], {}).svg
    assert svgplot.fmt_number(1187008882.0, 50) == "1187008882"
    assert svgplot.fmt_number(0.25, 0.05) == "0.25"


def test_svg_bad_colour_falls_back():
    fig = svgplot.render([{"x": [1, 2], "y": [1, 2], "line": {"color": "url(https://x.org/a)"}}], {})
    assert "url(https" not in fig.svg and svgplot.COLORWAY[0] in fig.svg


def test_svg_decimation_keeps_extremes():
    n = 200_000
    ys = [0.0] * n
    ys[123_456] = 50.0
    ys[7] = -50.0
    fig = svgplot.render([{"x": list(range(n)), "y": ys}], {})
    assert len(fig.svg) < 200_000  # a few points per pixel column, not 200k
    d = re.search(r'class="line" d="([^"]+)"', fig.svg).group(1)
    ys_px = [float(p.split(",")[1]) for p in re.split("[ML]", d) if p]
    assert max(ys_px) - min(ys_px) > 200  # both spikes survived


def _bar_values_read_from_ticks(svg: str) -> list[float]:
    """What a reader sees: each bar's top read against the y tick labels (linear interpolation)."""
    ticks = [(float(y) - 4, float(label)) for y, label in re.findall(r'<text class="tick y" x="[^"]+" y="([^"]+)">'
                                                                     r'([^<]+)</text>', svg)]
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    tops = [float(y) for y in re.findall(r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="[^"]+" fill', svg)]
    return [round(v0 + (top - p0) * (v1 - v0) / (p1 - p0), 1) for top in tops]


def test_tick_labels_are_exact_for_steps_of_2_5():
    for value, step, label in [(7.5, 2.5, "7.5"), (2.5, 2.5, "2.5"), (12.5, 2.5, "12.5"), (5.0, 2.5, "5"),
                               (0.75, 0.25, "0.75"), (0.30000000000000004, 0.1, "0.3"), (-2.5, 2.5, "-2.5"),
                               (250.0, 250, "250"), (1e-3 * 3, 1e-3, "0.003"), (-1e-17, 0.1, "0")]:
        assert svgplot.fmt_number(value, step) == label, (value, step)
    fig = svgplot.render([{"type": "bar", "x": ["H1", "L1", "V1"], "y": [12, 7, 3]}], {})
    labels = re.findall(r'<text class="tick y"[^>]*>([^<]+)</text>', fig.svg)
    assert labels == ["0", "2.5", "5", "7.5", "10", "12.5"]
    assert _bar_values_read_from_ticks(fig.svg) == [12.0, 7.0, 3.0]
    assert all(float(a) * 2 == round(float(a) * 2) for a in labels)  # every label is the value at its gridline


# ----------------------------------------------------------------------------------------------- triggers

TRIGGERS = [{"time": 100.0, "far": 1e-3, "snr": 8.0}, {"time": 101.0, "far": 1e-5, "snr": 11.0},
            {"time": 102.0, "far": 1e-3, "snr": 8.5}, {"time": 103.0, "far": 1e-7, "snr": 20.0}]


def test_ifar_traces_count_triggers_at_or_below_each_far():
    fg, bg = report_mod.ifar_traces(TRIGGERS, livetime=1e4)
    assert fg["x"] == pytest.approx([1e3, 1e5, 1e7]) and fg["y"] == [4, 2, 1]  # two at 1e-3: one point, both
    assert bg["x"][0] == 1e3 and bg["x"][-1] == pytest.approx(1e7)
    assert bg["y"][0] == 10.0 and bg["y"][-1] == pytest.approx(1e-3)  # livetime x FAR
    assert len(report_mod.ifar_traces(TRIGGERS, livetime=None)) == 1
    for bad in ({"far": 0.0}, {"far": "1e-3"}, {"far": math.nan}, {"snr": 1.0}, {"far": True}):
        with pytest.raises(ValueError, match="trigger 1: 'far' must be a positive, finite FAR"):
            report_mod.ifar_traces([TRIGGERS[0], bad], livetime=1e4)
    with pytest.raises(ValueError, match="livetime"):
        report_mod.ifar_traces(TRIGGERS, livetime=-1)


def test_ifar_plot_and_trigger_table_render_offline(tmp_path):
    from scald_monitor.report_config import ReportSpec, TabSpec

    src = tmp_path / "triggers.json"
    src.write_text(json.dumps({"items": TRIGGERS}))
    blocks = [{"kind": "ifar", "title": "IFAR <i>", "src": str(src), "items": TRIGGERS, "livetime": 1e4,
               "layout": {}},
              {"kind": "trigger_table", "title": "Loudest", "src": str(src), "items": TRIGGERS, "far": 1e-4,
               "fields": [("time", "GPS"), ("far", "FAR"), ("snr", "SNR")]}]
    spec = ReportSpec(path=str(tmp_path / "r.yml"), title="T", tabs=[TabSpec(name="Triggers", content=blocks)])
    (page,) = report_mod.build_report(spec, tmp_path / "out")
    html = page.read_text()
    assert "IFAR &lt;i&gt;" in html and 'aria-label="IFAR &lt;i&gt;"' in html
    assert ">expected background<" in html and ">inverse false alarm rate (s)<" in html
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", html)
    assert rows == [("103.0", "1e-07", "20.0"), ("101.0", "1e-05", "11.0")]  # FAR <= 1e-4, lowest first
    assert (tmp_path / "out" / "data" / "triggers.json").exists() and "http" not in html.split("<body", 1)[1]


# ---------------------------------------------------------------------------------------------- histograms

def test_histogram_traces_are_counted_as_plotly_bins_them():
    bars = svgplot.binned({"type": "histogram", "x": [0.5, 1.0, 1.5, 2.0, 2.0, None, 9.0], "name": "snr",
                           "xbins": {"start": 0, "end": 3, "size": 1}})
    assert bars == {"type": "bar", "name": "snr", "x": [0.5, 1.5, 2.5], "y": [1, 2, 2]}  # 3.0 ends the last bin
    # ligo-scald's BinnedTimeHistogram: time bins x value bins
    cells = svgplot.binned({"type": "histogram2d", "x": [100, 101, 105, 119, 120], "y": [1, 1, 2, 3, 3],
                            "xbins": {"start": 100, "size": 10}, "ybins": {"start": 0.5, "end": 3.5, "size": 1}})
    assert cells["type"] == "heatmap" and cells["x"] == [105.0, 115.0] and cells["y"] == [1.0, 2.0, 3.0]
    assert cells["z"] == [[2, 0], [1, 0], [0, 2]]
    auto = svgplot.binned({"type": "histogram", "x": [float(v) for v in range(100)]})
    assert sum(auto["y"]) == 100 and 10 <= len(auto["y"]) <= 25  # ~20 bins of a 1-2-5 width


def test_histogram_plot_in_a_report_draws_bars(tmp_path):
    (tmp_path / "r.yml").write_text(
        "report:\n  tabs:\n    - name: A\n      content:\n"
        "        - name: plot\n          title: SNR histogram\n"
        "          data: [{type: histogram, x: [5, 6, 6, 7, 7, 7], xbins: {start: 4.5, end: 7.5, size: 1}}]\n"
        "        - {name: plot, title: bad, data: [{type: histogram2d, x: [1, 2], y: [1]}]}\n")
    result = _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "x has 2 values but y has 1" in result.output
    text = (tmp_path / "r.yml").read_text()
    (tmp_path / "r.yml").write_text(text[:text.index("        - {name: plot, title: bad")])
    result = _run("report", "-c", str(tmp_path / "r.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "index.html").read_text()
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert _bar_values_read_from_ticks(svg) == [1.0, 2.0, 3.0]  # counts of 5, 6 and 7
