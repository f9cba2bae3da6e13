"""report.html of a run folder: self-contained, one card per identity, drawn again by eval."""

from __future__ import annotations

import base64
import csv
import shutil
from collections import defaultdict
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from mcvrt.cli import main
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.pipeline import run
from mcvrt.report import write_report
from mcvrt.video import probe_cameras
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect


class Page(HTMLParser):
    """The parts of the report the tests look at: cards and their images, all images, links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.cards: dict[int, list[str]] = {}  # global id -> image sources in its card
        self.images: dict[str, str] = {}  # id or alt -> source
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._card: int | None = None
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "article":
            self._card, self._depth = int(a["data-global-id"]), 0
            self.cards[self._card] = []
        if self._card is not None and tag not in ("img", "br"):
            self._depth += 1
        if tag == "img":
            self.images[a.get("id") or a["alt"]] = a["src"]
            if self._card is not None:
                self.cards[self._card].append(a["src"])
        if tag == "a":
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if self._card is not None and tag not in ("img", "br"):
            self._depth -= 1
            if self._depth == 0:
                self._card = None


def _decode(uri: str) -> np.ndarray:
    header, data = uri.split(",", 1)
    assert header in ("data:image/png;base64", "data:image/jpeg;base64"), header
    image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.size
    return image


@pytest.fixture
def finished_run(synthetic_videos, tmp_path: Path) -> Path:
    """Three synthetic cameras (two vehicles each, 10 s apart), annotated videos saved."""
    cameras = probe_cameras(synthetic_videos(3), time_offsets_s=[0.0, 10.0, 20.0])
    cfg = PipelineConfig()
    cfg = replace(cfg, output=replace(cfg.output, save_video=True))
    run(cfg, cameras, tmp_path / "run", detect=blob_detect, embed=ColorHistogramEmbedder())
    return tmp_path / "run"


def _cameras_per_identity(run_dir: Path) -> dict[int, set[str]]:
    seen: dict[int, set[str]] = defaultdict(set)
    with (run_dir / "tracks.csv").open() as f:
        for row in csv.DictReader(f):
            seen[int(row["global_id"])].add(row["camera_id"])
    return seen


def test_one_card_per_identity_with_a_crop_from_each_camera(finished_run: Path) -> None:
    page = Page((finished_run / "report.html").read_text())
    identities = _cameras_per_identity(finished_run)
    assert sorted(page.cards) == sorted(identities)
    for gid, sources in page.cards.items():
        assert len(sources) == len(identities[gid])
        for source in sources:
            _decode(source)
    assert _decode(page.images["timeline"]).shape[1] > 600
    assert _decode(page.images["camera graph"]).shape[1] > 300
    assert all(src.startswith("data:") for src in page.images.values())  # nothing to fetch
    assert "script" not in page.tags
    videos = [link for link in page.links if link.startswith("videos/")]
    assert {link.split("#")[0] for link in videos} == {f"videos/cam{i}.mp4" for i in (1, 2, 3)}
    for link in videos:
        assert (finished_run / link.split("#")[0]).is_file()


def test_eval_draws_the_report_again_with_its_metrics(finished_run: Path, tmp_path: Path,
                                                      capsys) -> None:
    assert 'id="evaluation"' not in (finished_run / "report.html").read_text()
    truth = shutil.copy(finished_run / "multicamera.txt", tmp_path / "gt.txt")  # the run itself
    assert main(["eval", "--gt", str(truth), "--run", str(finished_run)]) == 0
    html = (finished_run / "report.html").read_text()
    assert 'id="evaluation"' in html
    row = html[html.index("<th>global ids</th>"):].split("</tr>")[0]
    assert row.count("1.000") == 4  # MOTA, IDF1, IDP, IDR of a run against itself
    assert len(Page(html).cards) == len(_cameras_per_identity(finished_run))


def test_rematch_shows_the_stored_crops(finished_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert main(["rematch", str(finished_run), "--out", str(out)]) == 0
    assert (out / "crops.npz").read_bytes() == (finished_run / "crops.npz").read_bytes()
    page = Page((out / "report.html").read_text())
    assert sorted(page.cards) == sorted(_cameras_per_identity(out))
    assert all(len(sources) > 0 for sources in page.cards.values())


def test_report_off_leaves_no_report_or_crops(synthetic_videos, tmp_path: Path) -> None:
    out, cameras = tmp_path / "run", probe_cameras(synthetic_videos(1))
    run(PipelineConfig(), cameras, out, detect=blob_detect, embed=ColorHistogramEmbedder())
    assert (out / "report.html").is_file()  # an earlier run's, replaced by the run below
    cfg = PipelineConfig()
    cfg = replace(cfg, output=replace(cfg.output, report=False, gallery=False))
    result = run(cfg, cameras, out, detect=blob_detect, embed=ColorHistogramEmbedder())
    assert not (out / "report.html").exists() and not (out / "crops.npz").exists()
    assert all(p.is_file() for p in result.outputs)


def test_a_folder_that_is_no_run_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a run folder"):
        write_report(tmp_path)
