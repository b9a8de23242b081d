"""The report in a real browser: Debian's headless Chromium lays it out and screenshots it.

The report holds no script, so the tests measure a copy of it with one
script appended that writes what Chromium laid out (every SVG's box, the
viewport, whether CJK glyphs differ from one another) into the DOM, which
``--dump-dom`` prints. Console messages are read from Chromium's log
(``--enable-logging=stderr``): the report itself must produce none.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.paths import DATA

from zongheng.reports.svg import FONT_STACK

POLICY = DATA / "report-matrix.zh"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium not installed (make debs installs it)")

PROBE = """<script>
(function () {
  var boxes = [];
  document.querySelectorAll("svg").forEach(function (s) {
    var r = s.getBoundingClientRect();
    boxes.push({cls: s.getAttribute("class"), left: r.left, right: r.right,
                width: r.width, height: r.height});
  });
  function glyph(ch) {
    var c = document.createElement("canvas");
    c.width = 64; c.height = 64;
    var g = c.getContext("2d");
    g.font = "48px " + FONT_STACK;
    g.fillText(ch, 4, 52);
    return Array.prototype.join.call(g.getImageData(0, 0, 64, 64).data, ",");
  }
  var out = document.createElement("pre");
  out.id = "zh-measure";
  out.textContent = JSON.stringify({
    viewport: document.documentElement.clientWidth, svgs: boxes,
    cjk_distinct: glyph("税") !== glyph("审"),
  });
  document.body.appendChild(out);
  console.error("zh-probe-ran");
})();
</script>
"""


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """One headless Chromium run (as root it needs --no-sandbox), its log on stderr."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--user-data-dir=" + str(cwd / "profile"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def console(stderr: str) -> list[str]:
    """Console messages in Chromium's log (it logs every level as INFO:CONSOLE)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, report) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    proc = report(POLICY, out)
    assert proc.returncode == 0, proc.stderr.decode()
    return out


def measure(report_path: Path, width: int) -> dict:
    probe = report_path.with_name(f"probe-{width}.html")
    text = report_path.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", PROBE.replace("FONT_STACK", json.dumps(FONT_STACK))
                                  + "</body>"), encoding="utf-8")
    proc = chromium(f"--window-size={width},900", "--dump-dom", probe.as_uri(),
                    cwd=report_path.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="zh-measure">([^<]*)</pre>', proc.stdout)
    assert found, proc.stderr[-2000:]
    # the log shows the probe's own console message, so a silent report is really silent
    assert any("zh-probe-ran" in line for line in console(proc.stderr)), proc.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("width", [1280, 520])  # Chromium windows are 500+ wide
def test_svgs_are_laid_out_within_the_viewport(rendered, width):
    m = measure(rendered, width)
    assert m["viewport"] <= width
    assert sorted(b["cls"] for b in m["svgs"]) == ["matrix", "topology", "topology"]
    for box in m["svgs"]:
        assert box["width"] > 50 and box["height"] > 50, box
        assert box["left"] >= 0 and box["right"] <= m["viewport"], (box, m["viewport"])


def test_cjk_font_is_installed_and_renders_chinese(rendered):
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fc-list not installed (fontconfig)")
    fonts = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                           check=True).stdout
    assert fonts.strip(), "no font covers Chinese: make debs installs fonts-wqy-zenhei"
    assert any(name in fonts for name in ("WenQuanYi Zen Hei", "Noto Sans CJK", "Source Han"))
    # two different characters drawn with the report's SVG font stack look different
    # (without a CJK font both are the same missing-glyph box)
    assert measure(rendered, 1280)["cjk_distinct"]


def test_screenshot_has_content_and_no_console_message(rendered):
    image = pytest.importorskip("PIL.Image")
    shot = rendered.with_name("shot.png")
    proc = chromium("--window-size=1280,2400", f"--screenshot={shot}", rendered.as_uri(),
                    cwd=rendered.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console(proc.stderr) == [], console(proc.stderr)
    assert shot.stat().st_size > 10_000
    with image.open(shot) as im:
        rgb = im.convert("RGB")
        assert rgb.size == (1280, 2400)
        colours = rgb.getcolors(maxcolors=1 << 20)
    background = max(colours)[1]
    assert background == (255, 255, 255)
    ink = sum(n for n, c in colours if c != background)
    assert ink > 0.02 * 1280 * 2400
    # the matrix's violated cell and the topology's highlighted path are drawn in red
    red = sum(n for n, (r, g, b) in colours if r > 150 and g < 80 and b < 80)
    assert red > 200, red
