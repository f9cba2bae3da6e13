from pathlib import Path

import pytest

from mcvrt.errors import InputError
from mcvrt.video import expand_videos, probe_cameras, read_frames
from tests.conftest import VIDEOS


def test_probe_reads_fps_size_and_decoded_count(synthetic_videos):
    (path,) = synthetic_videos(1)
    (cam,) = probe_cameras([path], time_offsets_s=[2.5])
    assert (cam.id, cam.fps, cam.frame_count, cam.size_wh) == ("cam1", 10.0, 40, (320, 200))
    frames = list(read_frames(cam, stride=3, max_frames=10))
    assert [f.index for f in frames] == [0, 3, 6, 9]
    assert frames[1].time_s == pytest.approx(0.3 + 2.5)
    assert frames[0].image.shape == (200, 320, 3)


def test_frame_count_comes_from_decoding_not_the_header():
    path = VIDEOS / "street_overhead_640x360.mp4"
    if not path.is_file():
        pytest.skip("shared videos not available")
    (cam,) = probe_cameras([path])
    assert cam.frame_count == 734  # the container claims 754


def test_globs_expand_in_order_and_camera_ids_override(synthetic_videos, tmp_path: Path):
    synthetic_videos(3)
    paths = expand_videos([str(tmp_path / "cam*.mp4")])
    assert [p.name for p in paths] == ["cam1.mp4", "cam2.mp4", "cam3.mp4"]
    cams = probe_cameras(paths, camera_ids=["a", "b", "c"], max_frames=5)
    assert [(c.id, c.frame_count) for c in cams] == [("a", 5), ("b", 5), ("c", 5)]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: [d / "missing.mp4"], "video not found"),
        (lambda d: [_text_file(d / "bad.mp4")], "cannot read video"),
        (lambda d: [_empty_video(d / "empty.mp4")], "cannot read video"),
        (lambda d: [], "no videos given"),
    ],
    ids=["missing", "not-a-video", "zero-frames", "none"],
)
def test_unusable_videos_fail_with_one_clear_line(tmp_path: Path, make, message: str):
    with pytest.raises(InputError, match=message):
        probe_cameras(make(tmp_path))


def test_duplicate_ids_and_count_mismatch(synthetic_videos, tmp_path: Path):
    paths = synthetic_videos(2)
    (tmp_path / "other").mkdir()
    copy = tmp_path / "other" / "cam1.mp4"
    copy.write_bytes(paths[0].read_bytes())
    with pytest.raises(InputError, match="'cam1' appears twice"):
        probe_cameras([paths[0], copy])
    with pytest.raises(InputError, match="--camera-ids has 1 values for 2 videos"):
        probe_cameras(paths, camera_ids=["x"])
    with pytest.raises(InputError, match="no video matches"):
        expand_videos([str(tmp_path / "nothing*.avi")])


def _text_file(path: Path) -> Path:
    path.write_text("not a video")
    return path


def _empty_video(path: Path) -> Path:
    import cv2

    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64)).release()
    return path
