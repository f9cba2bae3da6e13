"""The demo run's report.html in a real browser: headless Chromium (Debian package `chromium`)
loads it from the file system without errors and shows one card per identity and the timeline."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

pytest.importorskip("websocket", reason="websocket-client is not installed (pip install .[test])")

from mcvrt.cli import main
from tests.chromium import CHROMIUM, load_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = {
    "cards": "Array.from(document.querySelectorAll('article.card'), e => +e.dataset.globalId)",
    "timeline": "document.getElementById('timeline').naturalWidth",
    "broken_images": "Array.from(document.images).filter(i => !i.naturalWidth).length",
    "evaluation": "document.getElementById('evaluation') !== null",
    "title": "document.title",
}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_demo_report_loads_without_errors(detector_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    videos = [str(ROOT / "demo" / f"cam{i}.mp4") for i in (1, 2, 3)]
    assert main(["run", "--videos", *videos, "--detector", str(detector_dir),
                 "--max-frames", "80", "--out", str(out)]) == 0
    assert main(["eval", "--gt", str(ROOT / "demo"), "--run", str(out)]) == 0
    with (out / "tracks.csv").open() as f:
        identities = {int(row["global_id"]) for row in csv.DictReader(f)}

    page = load_page((out / "report.html").as_uri(), PAGE)
    assert page.errors == []
    assert sorted(page.values["cards"]) == sorted(identities)
    assert page.values["timeline"] > 0 and page.values["broken_images"] == 0
    assert page.values["evaluation"] and page.values["title"] == "mcvrt report: demo"
