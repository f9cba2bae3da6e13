"""One camera's loop (`mcvrt.camera`) on a synthetic video with the fake detector."""

from dataclasses import replace

import pytest

from mcvrt.camera import CameraTracker
from mcvrt.config import PipelineConfig
from mcvrt.video import probe_cameras, read_frames
from reid import ColorHistogramEmbedder
from tests.conftest import blob_detect


@pytest.mark.parametrize("report", [False, True], ids=["from-confirmation", "first-hits"])
def test_first_hits_start_each_tracklet_at_its_first_detection(synthetic_videos,
                                                               report: bool) -> None:
    """Both vehicles are detected from frame 0 on: a track confirmed on its n_init-th hit
    outputs from there, or from frame 0 with `report_first_hits`, every frame once."""
    cfg = PipelineConfig()
    cfg = replace(cfg, tracker=replace(cfg.tracker, report_first_hits=report))
    camera = probe_cameras(synthetic_videos(1))[0]
    result = CameraTracker(cfg, blob_detect, ColorHistogramEmbedder())(camera)
    first = 0 if report else cfg.tracker.n_init - 1
    assert [t.frames.tolist() for t in result.tracklets] == [list(range(first, 40))] * 2
    if report:  # the detector's boxes of frame 0
        frame0 = blob_detect(next(iter(read_frames(camera, 1, None))).image)
        assert sorted(t.xyxy[0].tolist() for t in result.tracklets) == sorted(
            frame0.xyxy.tolist())
