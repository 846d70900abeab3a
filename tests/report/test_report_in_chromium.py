"""The real report as a reader sees it: headless Chromium in a 1280 px wide window.

The test writes, next to report.html, a copy of it that measures itself once loaded (the page's
scroll width, each image, the alignment of text and number cells) and writes the results into
``<body data-...>``; Chromium's ``--dump-dom`` prints that DOM. Chromium comes from
``scripts/setup.sh``; without it the test fails and says so."""

from __future__ import annotations

import json
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from insiders import plots

pytestmark = pytest.mark.slow

WIDTH = 1280
MEASURE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var images = Array.from(document.images);
  var align = function (selector) {
    return Array.from(new Set(Array.from(document.querySelectorAll(selector)).map(
      function (e) { return getComputedStyle(e).textAlign; })));
  };
  document.body.dataset.measured = JSON.stringify({
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, innerWidth: window.innerWidth,
    images: images.length,
    broken: images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length,
    textAlign: align("td.t"), numberAlign: align("td.n"),
    q9Align: align("#actions td:last-child")
  });
});
</script>"""


def chromium() -> str:
    """The Chromium on PATH, else the test fails saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed (no chromium or chromium-browser on PATH): "
                "run `bash scripts/setup.sh` as root, which installs Debian's chromium package")


def dump_dom(page: Path, profile: Path, width: int = WIDTH, height: int = 900) -> str:
    """The DOM of ``page`` after it loaded, in headless Chromium at ``width`` x ``height``."""
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},{height}",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def measured(run_dir: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What the report measured of itself in Chromium at 1280 px."""
    html = (Path(run_dir) / "report.html").read_text()
    head, tail = html.rsplit("</body>", 1)
    page = Path(run_dir) / "report-measure.html"  # next to the report: the same relative paths
    page.write_text(head + MEASURE + "</body>" + tail)
    dom = dump_dom(page, tmp_path_factory.mktemp("chromium-profile"))
    start = dom.find('data-measured="')
    assert start >= 0, f"the page did not measure itself; Chromium printed: {dom[:500]!r}"
    value = dom[start + len('data-measured="'):]
    return json.loads(unescape(value[:value.index('"')]))


def test_the_report_fits_a_1280_px_window(measured):
    """The page itself never scrolls sideways (wide tables scroll inside their own box)."""
    assert measured["innerWidth"] == WIDTH, measured
    assert measured["scrollWidth"] <= WIDTH, measured
    assert measured["scrollWidth"] <= measured["clientWidth"], measured


def test_every_plot_loads_as_an_image(measured):
    assert measured["images"] == len(plots.PLOTS), measured
    assert measured["broken"] == 0, measured


def test_text_cells_left_numbers_right(measured):
    assert set(measured["textAlign"]) <= {"left", "start"} and measured["textAlign"], measured
    assert measured["numberAlign"] == ["right"], measured
    assert set(measured["q9Align"]) <= {"left", "start"} and measured["q9Align"], measured
