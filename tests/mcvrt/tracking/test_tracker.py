from collections.abc import Callable, Sequence

import numpy as np
import pytest

from mcvrt.config import TrackerConfig
from mcvrt.tracking import Tracker
from mcvrt.types import Detections

DIM = 8
ZERO = np.zeros(DIM, np.float32)  # a row whose crop was too small to embed


def onehot(k: int) -> np.ndarray:
    """Unit embedding along axis k; different k are orthogonal (cosine distance 1)."""
    return np.eye(DIM, dtype=np.float32)[k]


def box(cx: float, cy: float, w: float = 40.0, h: float = 80.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def make_dets(boxes: Sequence[Sequence[float]],
              embeddings: Sequence[np.ndarray] | None = None) -> Detections:
    n = len(boxes)
    if embeddings is not None:
        embeddings = np.asarray(embeddings, np.float32).reshape(n, DIM)
    return Detections(
        xyxy=np.asarray(boxes, np.float32).reshape(n, 4),
        confidence=np.full(n, 0.9, np.float32),
        class_id=np.full(n, 2, np.int64),
        embedding=embeddings,
    )


def run(tracker: Tracker, frames: Sequence[Detections]) -> list[list[int]]:
    """Track ids reported per frame, in row order."""
    return [tracker.update(dets).track_id.tolist() for dets in frames]


def walker(t: int, visible: bool = True, embedded: bool = True) -> Detections:
    """One car moving 5 px/frame to the right, optionally hidden or not embedded."""
    if not visible:
        return make_dets([], [] if embedded else None)
    return make_dets([box(100 + 5 * t, 200)], [onehot(0)] if embedded else None)


CFG = TrackerConfig(max_age=10, n_init=3)


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "motion-only"])
def test_two_linear_movers_keep_ids_for_30_frames(embedded: bool) -> None:
    tracker, frames, expected = Tracker(CFG), [], []
    for t in range(30):
        jitter = 1.0 if t % 2 else -1.0  # detector noise: the output must be these exact boxes
        boxes = [box(100 + 5 * t + jitter, 100), box(400, 500 - 4 * t - jitter)]
        embeddings = [onehot(0), onehot(1)] if embedded else None
        if t % 3 == 1:  # row order must not matter
            boxes, embeddings = boxes[::-1], embeddings and embeddings[::-1]
        dets = make_dets(boxes, embeddings)
        out = tracker.update(dets)
        frames.append(out.track_id.tolist())
        expected.append([] if t < 2 else [2, 1] if t % 3 == 1 else [1, 2])
        if t >= 2:
            np.testing.assert_array_equal(out.xyxy, dets.xyxy)
            np.testing.assert_array_equal(out.confidence, dets.confidence)
    assert frames == expected


@pytest.mark.parametrize("hidden", [1, 5, 9], ids=lambda h: f"hidden-{h}")
def test_short_occlusion_keeps_the_id(hidden: int) -> None:
    frames = [walker(t, visible=not 10 <= t < 10 + hidden) for t in range(10 + hidden + 5)]
    ids = run(Tracker(CFG), frames)
    assert ids[:10] == [[]] * 2 + [[1]] * 8
    assert ids[10:10 + hidden] == [[]] * hidden
    assert ids[10 + hidden:] == [[1]] * 5


@pytest.mark.parametrize("hidden", [10, 15], ids=lambda h: f"hidden-{h}")
def test_long_occlusion_gives_a_new_id(hidden: int) -> None:
    frames = [walker(t, visible=not 10 <= t < 10 + hidden) for t in range(10 + hidden + 5)]
    ids = run(Tracker(CFG), frames)
    assert ids[10 + hidden:] == [[], [], [2], [2], [2]]


def _crossing(t: int) -> list[list[float]]:
    """Two cars on one road passing through each other (identical boxes at t = 10)."""
    return [box(100 + 6 * t, 200), box(220 - 6 * t, 200)]


def _bouncing(t: int) -> list[list[float]]:
    """Two cars that meet at t = 10 (identical boxes) and both turn back: motion predicts a swap."""
    offset = 3 * (10 - abs(t - 10))
    return [box(100 + offset, 200), box(160 - offset, 200)]


@pytest.mark.parametrize("path", [_crossing, _bouncing], ids=["crossing", "bouncing"])
def test_appearance_keeps_crossing_cars_apart(path: Callable[[int], list[list[float]]]) -> None:
    frames = [make_dets(path(t), [onehot(0), onehot(1)]) for t in range(21)]
    ids = run(Tracker(CFG), frames)
    assert ids == [[], []] + [[1, 2]] * 19


def test_each_tracker_counts_ids_from_one() -> None:
    first, second = Tracker(CFG), Tracker(CFG)
    crowd = make_dets([box(100, 100), box(300, 100), box(500, 100)], [onehot(k) for k in range(3)])
    assert run(first, [crowd] * 3) == [[], [], [1, 2, 3]]
    assert run(second, [walker(t) for t in range(3)]) == [[], [], [1]]
    assert run(first, [crowd]) == [[1, 2, 3]]


@pytest.mark.parametrize("n_init", [1, 2, 4])
def test_tentative_tracks_are_not_reported_before_n_init_hits(n_init: int) -> None:
    ids = run(Tracker(TrackerConfig(n_init=n_init)), [walker(t) for t in range(6)])
    assert ids == [[]] * (n_init - 1) + [[1]] * (7 - n_init)


def test_tentative_track_missed_once_dies_without_using_an_id() -> None:
    car, flicker = box(100, 200), box(500, 200)  # flicker: a false positive seen on 2 frames
    both, alone = make_dets([car, flicker], [onehot(0), onehot(1)]), make_dets([car], [onehot(0)])
    frames = [both, both, alone, alone, both, both, both]
    assert run(Tracker(CFG), frames) == [[], [], [1], [1], [1], [1], [1, 2]]


def test_empty_detections() -> None:
    tracker = Tracker(CFG)
    out = tracker.update(Detections.empty())
    assert len(out) == 0 and out.track_id.dtype == np.int64 and out.track_id.shape == (0,)
    assert run(tracker, [walker(t) for t in range(3)]) == [[], [], [1]]
    assert run(tracker, [Detections.empty()] * 2 + [walker(5)]) == [[], [], [1]]


def test_frames_without_embeddings_track_by_motion_and_keep_galleries() -> None:
    embedded = [t < 3 or t % 3 == 0 for t in range(30)]  # embed every 3rd frame after start-up
    visible = [not 12 <= t < 14 and not 20 <= t < 23 for t in range(30)]
    # hidden 12-13: reappears on frame 14, not embedded, matched by gated IoU after 3 predictions;
    # hidden 20-22: reappears on frame 23, not embedded; frame 24 onwards by the kept gallery too
    ids = run(Tracker(CFG), [walker(t, visible[t], embedded[t]) for t in range(30)])
    assert ids == [[], []] + [[1] if v else [] for v in visible[2:]]


@pytest.mark.parametrize("embedded", [True, False], ids=["same-appearance", "motion-only"])
def test_a_detection_outside_the_gate_starts_a_new_track(embedded: bool) -> None:
    far = make_dets([box(600, 600)], [onehot(0)] if embedded else None)
    frames = [walker(t) for t in range(5)] + [far] * 3
    assert run(Tracker(CFG), frames)[5:] == [[], [], [2]]


def test_zero_embedding_rows_are_tracked_by_iou_and_kept_out_of_galleries() -> None:
    cfg = TrackerConfig(max_age=10, n_init=3, gallery_size=1)
    frames = [walker(t) for t in range(5)]
    frames += [make_dets([box(100 + 5 * t, 200)], [ZERO]) for t in range(5, 8)]
    frames += [walker(t, visible=False) for t in range(8, 11)]
    frames += [walker(t) for t in range(11, 13)]  # age 4: only the appearance cascade can match
    assert run(Tracker(cfg), frames) == [[], []] + [[1]] * 6 + [[]] * 3 + [[1]] * 2


@pytest.mark.parametrize(("hidden", "expected"), [(0, [1]), (1, [])],
                         ids=["recent-track-ungated", "lost-track-gated"])
@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "motion-only"])
def test_iou_matching_is_mahalanobis_gated_for_lost_tracks_only(
        embedded: bool, hidden: int, expected: list) -> None:
    # same centre, h 80 -> 140: IoU 0.57 passes, the Mahalanobis gate does not
    frames = [walker(t) for t in range(5)] + [walker(5, visible=False)] * hidden
    t = 5 + hidden
    taller = box(100 + 5 * t, 200, h=140)
    frames.append(make_dets([taller], [onehot(0)] if embedded else None))
    assert run(Tracker(CFG), frames)[-1] == expected


def test_a_row_without_embedding_in_an_embedded_frame_may_rejoin_a_lost_track() -> None:
    # frame 6: the walker comes back after one missed frame with no embedding (only the new car
    # on the right was embedded); gated IoU may give it to its track, which is not "recent"
    back = make_dets([box(130, 200), box(600, 600)], [ZERO, onehot(1)])
    frames = [walker(t) for t in range(5)] + [walker(5, visible=False), back]
    assert run(Tracker(CFG), frames)[-1] == [1]


def confirmed_walker() -> Tracker:
    """A tracker whose walker (track 1) was confirmed on frame 2."""
    tracker = Tracker(CFG)
    assert run(tracker, [walker(t) for t in range(3)]) == [[], [], [1]]
    return tracker


def test_weak_detections_only_continue_confirmed_tracks() -> None:
    """A weak row (below the frame's threshold) keeps a confirmed track's boxes coming, but
    starts no track, confirms no tentative one and is dropped when it fits no track."""
    tracker = confirmed_walker()
    car, stray = box(100 + 5 * 3, 200), box(600, 200)
    out = tracker.update(make_dets([car, stray], [ZERO, ZERO]), weak=np.array([True, True]))
    assert out.track_id.tolist() == [1] and out.xyxy.tolist() == [car]
    ghost = make_dets([box(300, 400)], [onehot(2)])
    weak_run = [tracker.update(ghost, weak=np.array([True])) for _ in range(4)]
    assert [len(o) for o in weak_run] == [0, 0, 0, 0]
    assert run(Tracker(CFG), [ghost] * 3) == [[], [], [1]]  # the same rows, strong


def test_weak_detection_fits_only_with_iou_of_one_half() -> None:
    shifted = make_dets([box(100 + 5 * 3 + 15, 200)])  # 15 px off the prediction: IoU 0.37
    assert len(confirmed_walker().update(shifted, weak=np.array([True]))) == 0
    assert confirmed_walker().update(shifted).track_id.tolist() == [1]  # strong: IoU stage


def test_weak_detection_iou_is_configurable() -> None:
    shifted = make_dets([box(100 + 5 * 3 + 15, 200)])  # IoU 0.37 with the walker's prediction
    tracker = Tracker(TrackerConfig(max_age=10, n_init=3, weak_min_iou=0.3))
    assert run(tracker, [walker(t) for t in range(3)]) == [[], [], [1]]
    assert tracker.update(shifted, weak=np.array([True])).track_id.tolist() == [1]


def test_first_hits_of_a_confirmed_track_are_handed_back_oldest_first() -> None:
    """With report_first_hits, the hits before confirmation come back once, when the track is
    confirmed, as (updates before the confirming one, rows); a track that dies tentative never
    reports its rows."""
    tracker = Tracker(TrackerConfig(max_age=10, n_init=3, report_first_hits=True))
    stray = make_dets([box(600, 600)], [onehot(1)])  # one frame, then gone: never confirmed
    frames = [make_dets([box(100, 200), box(600, 600)], [onehot(0), onehot(1)]), walker(1),
              walker(2), walker(3)]
    reported = []
    for dets in [stray, *frames]:
        current = tracker.update(dets)
        reported.append(([(ago, rows.track_id.tolist(), rows.xyxy.tolist())
                          for ago, rows in tracker.first_hits()], current.track_id.tolist()))
    assert reported == [([], []), ([], []), ([], []),
                        ([(2, [1], [box(100, 200)]), (1, [1], [box(105, 200)])], [1]),
                        ([], [1])]


def test_first_hits_are_kept_only_when_asked() -> None:
    tracker = Tracker(TrackerConfig(max_age=10, n_init=3, report_first_hits=False))
    run(tracker, [walker(t) for t in range(3)])
    assert tracker.first_hits() == []

