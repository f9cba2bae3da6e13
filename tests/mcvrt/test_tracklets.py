from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcvrt.tracklets import TrackletCollector
from mcvrt.types import Camera, Detections

CAMERA = Camera(id="north", path=Path("north.mp4"), fps=10.0, frame_count=100,
                size_wh=(640, 480), time_offset_s=2.5)


def tracked(track_ids, xyxy, confidence, class_id, embedding=None) -> Detections:
    return Detections(
        xyxy=np.asarray(xyxy, dtype=np.float32).reshape(-1, 4),
        confidence=np.asarray(confidence, dtype=np.float32),
        class_id=np.asarray(class_id, dtype=np.int64),
        embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32),
        track_id=np.asarray(track_ids, dtype=np.int64),
    )


def test_weighted_mean_embedding_exact_value() -> None:
    collector = TrackletCollector(CAMERA)
    # weight = confidence * sqrt(area): 0.75 * sqrt(16) = 3 and 0.5 * sqrt(64) = 4
    collector.add(0, tracked([1], [[0, 0, 4, 4]], [0.75], [2], [[1.0, 0.0]]))
    collector.add(1, tracked([1], [[0, 0, 50, 50]], [1.0], [2]))  # not embedded
    collector.add(2, tracked([1], [[0, 0, 8, 8]], [0.5], [2], [[0.0, 1.0]]))
    collector.add(3, tracked([1], [[0, 0, 90, 90]], [1.0], [2], [[0.0, 0.0]]))  # crop too small
    (tracklet,) = collector.finish()
    np.testing.assert_allclose(tracklet.embedding, [0.6, 0.8], rtol=1e-6)  # (3, 4) / 5
    assert tracklet.embedding.dtype == np.float32
    assert np.linalg.norm(tracklet.embedding) == pytest.approx(1.0, abs=1e-6)


def test_tracklet_fields_frames_and_order() -> None:
    collector = TrackletCollector(CAMERA)
    collector.add(0, tracked([5, 3], [[0, 0, 10, 10], [20, 20, 30, 40]], [0.9, 0.8], [2, 7],
                             [[1.0, 0.0], [0.0, 1.0]]))
    collector.add(2, tracked([], [], [], []))  # a frame where nothing is tracked
    collector.add(4, tracked([3], [[21, 21, 31, 41]], [0.7], [7], [[0.0, 1.0]]))
    short, long_ = collector.finish()

    assert (short.track_id, long_.track_id) == (3, 5)
    assert short.camera_id == "north"
    np.testing.assert_array_equal(short.frames, [0, 4])
    np.testing.assert_array_equal(short.xyxy, [[20, 20, 30, 40], [21, 21, 31, 41]])
    np.testing.assert_array_equal(short.confidence, np.float32([0.8, 0.7]))
    assert short.class_id == 7
    assert (short.fps, short.time_offset_s) == (10.0, 2.5)
    assert (short.start_s, short.end_s) == (2.5, 2.9)
    np.testing.assert_array_equal(long_.frames, [0])


@pytest.mark.parametrize(
    "classes, expected",
    [([7, 7, 2], 7), ([7, 2], 2), ([5, 3, 3, 5, 7], 3)],
    ids=["majority", "tie-smallest", "three-way-tie-smallest"],
)
def test_class_is_majority_vote(classes: list[int], expected: int) -> None:
    collector = TrackletCollector(CAMERA)
    for frame, class_id in enumerate(classes):
        collector.add(frame, tracked([1], [[0, 0, 10, 10]], [0.9], [class_id]))
    assert collector.finish()[0].class_id == expected


def test_tracklet_without_embedded_frame_gets_zero_vector() -> None:
    collector = TrackletCollector(CAMERA)
    collector.add(0, tracked([1, 2], [[0, 0, 2, 2], [0, 0, 60, 60]], [0.9, 0.9], [2, 2],
                             [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    collector.add(1, tracked([1], [[0, 0, 2, 2]], [0.9], [2]))
    no_evidence, embedded = collector.finish()
    np.testing.assert_array_equal(no_evidence.embedding, np.zeros(3, np.float32))
    np.testing.assert_array_equal(embedded.embedding, [0.0, 0.0, 1.0])


def test_nothing_embedded_anywhere_gives_empty_vectors() -> None:
    collector = TrackletCollector(CAMERA)
    collector.add(0, tracked([1], [[0, 0, 2, 2]], [0.9], [2]))
    assert collector.finish()[0].embedding.shape == (0,)
    assert TrackletCollector(CAMERA).finish() == []


def test_add_rejects_untracked_and_repeated_frames() -> None:
    collector = TrackletCollector(CAMERA)
    with pytest.raises(ValueError, match="track_id"):
        collector.add(0, Detections(np.zeros((1, 4), np.float32), np.ones(1, np.float32),
                                    np.full(1, 2, np.int64)))
    collector.add(3, tracked([1], [[0, 0, 10, 10]], [0.9], [2]))
    with pytest.raises(ValueError, match="frame 3 is not after frame 3"):
        collector.add(3, tracked([1], [[0, 0, 10, 10]], [0.9], [2]))


def test_occluded_crops_leave_the_tracklet_embedding_when_clean_ones_exist() -> None:
    from mcvrt.boxes import unoccluded

    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [30, 30, 40, 40]], np.float32)
    assert unoccluded(boxes).tolist() == [False, False, True]  # the first two cover half each
    camera = Camera("c1", Path("c1.mp4"), 10.0, 3, (100, 100))
    collector = TrackletCollector(camera)
    a, b = np.eye(2, dtype=np.float32)
    # frame 0: track 1 alone (clean, embedding a); frame 1: track 1 half-hidden by track 2 (b)
    collector.add(0, Detections(boxes[2:], np.ones(1, np.float32), np.full(1, 2), a[None],
                                np.array([1])))
    collector.add(1, Detections(boxes[:2], np.ones(2, np.float32), np.full(2, 2),
                                np.stack([b, b]), np.array([1, 2])))
    first, second = collector.finish()
    np.testing.assert_allclose(first.embedding, a)  # the occluded crop's b did not count
    np.testing.assert_allclose(second.embedding, b)  # no clean crop: all crops count
