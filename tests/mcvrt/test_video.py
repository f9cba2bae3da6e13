import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcvrt.cli import main
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.pipeline import run
from mcvrt.video import VideoReader, expand_videos, first_good, probe_cameras, read_frames
from reid import ColorHistogramEmbedder
from tests.conftest import VIDEOS, blob_detect


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
    assert (cam.frame_count, cam.claimed_frames) == (754, 754)  # the probe only reads the header
    reader = VideoReader(cam)
    assert sum(1 for _ in reader) == 734
    assert (reader.camera.frame_count, reader.camera.skipped) == (734, ())  # no damage, a lie


DEMO = Path(__file__).resolve().parents[2] / "demo" / "cam2.mp4"


def damaged_copy(path: Path) -> Path:
    """`DEMO` with 1/12 of its bytes, a third of the way in, overwritten by a byte ramp."""
    data = bytearray(DEMO.read_bytes())
    start, size = len(data) // 3, len(data) // 12
    data[start : start + size] = bytes(i % 256 for i in range(size))
    path.write_bytes(data)
    return path


def decoded_until_first_error(path: Path) -> int:
    """Frames a reader that stops at the first failed read gets."""
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def test_damaged_clip_decodes_past_the_damage_with_true_frame_numbers(tmp_path: Path):
    damaged = damaged_copy(tmp_path / "cam2.mp4")
    (cam,) = probe_cameras([damaged], time_offsets_s=[5.0])
    reader = VideoReader(cam)
    frames = list(reader)
    read = reader.camera
    assert read.claimed_frames == cam.claimed_frames == 160
    assert read.frame_count == len(frames) > decoded_until_first_error(damaged)
    assert read.skipped and read.frame_count + read.lost_frames == 160
    lost = {i for first, last in read.skipped for i in range(first, last + 1)}
    assert [f.index for f in frames] == [i for i in range(160) if i not in lost]
    # frames after the gap are the video's own: same image as in the intact clip, same time
    (intact,) = probe_cameras([DEMO])
    after = [f for f in frames if f.index > read.skipped[-1][1]][-5:]
    originals = {f.index: f.image for f in read_frames(intact)}
    for frame in after:
        assert np.abs(frame.image.astype(int) - originals[frame.index]).mean() < 1.0
        assert frame.time_s == pytest.approx(frame.index / 10.0 + 5.0)


def test_damaged_clip_run_warns_once_and_summary_counts(tmp_path: Path, capsys):
    damaged = damaged_copy(tmp_path / "cam2.mp4")
    cameras = probe_cameras([damaged, DEMO], camera_ids=["damaged", "intact"])
    result = run(PipelineConfig(), cameras, tmp_path / "out", detect=blob_detect,
                 embed=ColorHistogramEmbedder())
    read = result.cameras[0]
    (first, last), = read.skipped
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [f"mcvrt: warning: camera damaged: {last - first + 1} frames lost to "
                        f"damage (frames {first}-{last} skipped); {read.frame_count} decoded, "
                        "the container claims 160"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["frames_per_camera"] == {
        "damaged": {"decoded": read.frame_count, "claimed": 160, "skipped": last - first + 1,
                    "skipped_ranges": [[first, last]]},
        "intact": {"decoded": 160, "claimed": 160, "skipped": 0, "skipped_ranges": []},
    }
    assert result.frames == read.frame_count + 160


def test_video_whose_every_frame_is_damaged_fails_in_one_line(tmp_path: Path, capsys):
    data = bytearray(DEMO.read_bytes())
    media, index = data.find(b"mdat") + 4, data.find(b"moov") - 4  # the frames, not the index
    data[media:index] = bytes(index - media)
    (tmp_path / "dead.mp4").write_bytes(data)
    assert main(["run", "--videos", str(tmp_path / "dead.mp4"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mcvrt: error: cannot read video") and len(
        [line for line in err if line.startswith("mcvrt:")]) == 1


@given(first=st.integers(1, 10**6), cap=st.none() | st.integers(1, 10**6))
def test_resync_search_finds_the_first_frame_after_the_damage(first: int, cap: int | None):
    calls = []

    def works(skip: int) -> bool:
        calls.append(skip)
        return skip >= first

    found = first_good(works, cap)
    assert found == (first if cap is None or first <= cap else None)
    assert len(calls) <= 2 * max(first, 1).bit_length() + 1
    assert all(1 <= k <= (cap or k) for k in calls)


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
