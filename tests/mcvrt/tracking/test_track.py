import itertools

import numpy as np

from mcvrt.tracking import kalman
from mcvrt.tracking.track import Track, TrackState

XYAH = np.array([30.0, 60.0, 0.5, 80.0])  # the box (10, 20, 50, 100)
E = np.eye(4, dtype=np.float32)


def make_track(n_init: int = 3, max_age: int = 2, gallery_size: int = 2,
               feature: np.ndarray | None = None) -> Track:
    return Track(XYAH, feature, ids=itertools.count(7), n_init=n_init, max_age=max_age,
                 gallery_size=gallery_size)


def step(track: Track, hit: bool, feature: np.ndarray | None = None) -> None:
    track.predict()
    if hit:
        track.update(XYAH, feature)
    else:
        track.mark_missed()


def test_born_tentative_at_the_detected_box() -> None:
    track = make_track()
    assert track.state is TrackState.TENTATIVE and track.track_id is None
    assert (track.hits, track.time_since_update) == (1, 0)
    np.testing.assert_allclose(kalman.xyah_to_xyxy(track.xyah)[0], [10, 20, 50, 100])


def test_confirmed_after_n_init_hits_draws_an_id() -> None:
    track = make_track(n_init=3)
    step(track, hit=True)
    assert track.is_tentative
    step(track, hit=True)
    assert track.is_confirmed and track.track_id == 7


def test_n_init_one_confirms_at_birth() -> None:
    assert make_track(n_init=1).track_id == 7


def test_tentative_track_missed_once_is_deleted() -> None:
    track = make_track()
    step(track, hit=True)
    step(track, hit=False)
    assert track.is_deleted


def test_confirmed_track_survives_max_age_misses() -> None:
    track = make_track(n_init=1, max_age=2)
    step(track, hit=False)
    step(track, hit=False)
    assert track.is_confirmed and track.time_since_update == 2
    step(track, hit=False)
    assert track.is_deleted


def test_predict_counts_frames_since_update() -> None:
    track = make_track(n_init=1)
    track.predict()
    track.predict()
    assert track.time_since_update == 2
    track.update(XYAH, None)
    assert track.time_since_update == 0 and track.hits == 2


def test_gallery_keeps_the_newest_features_and_skips_none() -> None:
    track = make_track(gallery_size=2, feature=E[0])
    step(track, hit=True, feature=E[1])
    step(track, hit=True, feature=None)
    step(track, hit=True, feature=E[2])
    np.testing.assert_array_equal(track.gallery, E[[1, 2]])


def test_gallery_starts_empty_without_a_feature() -> None:
    assert len(make_track().gallery) == 0


def test_gating_distance_is_zero_at_the_state() -> None:
    track = make_track()
    track.predict()
    mean, cov = track.projection()
    np.testing.assert_allclose(mean, XYAH)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
