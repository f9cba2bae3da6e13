import numpy as np
import pytest

from mcvrt.tracking import kalman

START = np.array([10.0, 20.0, 0.5, 100.0])  # h = 100: position std 5, velocity std 0.625
S_POS = 13.75  # sqrt(164.0625 + 25): predicted position std plus measurement noise


def test_xyxy_to_xyah_and_back() -> None:
    xyah = kalman.xyxy_to_xyah(np.array([[10, 20, 50, 100]], np.float32))
    np.testing.assert_array_equal(xyah, [[30, 60, 0.5, 80]])
    np.testing.assert_array_equal(kalman.xyah_to_xyxy(xyah), [[10, 20, 50, 100]])


def test_degenerate_box_counts_as_one_pixel() -> None:
    np.testing.assert_array_equal(kalman.xyxy_to_xyah([[5, 5, 5, 7]]), [[5, 6, 0.5, 2]])


def test_create_uses_deepsort_initial_uncertainty() -> None:
    kf = kalman.create(START)
    np.testing.assert_array_equal(kf.x.ravel(), [10, 20, 0.5, 100, 0, 0, 0, 0])
    np.testing.assert_allclose(
        np.diag(kf.P), [100, 100, 1e-4, 100, 39.0625, 39.0625, 1e-10, 39.0625], rtol=1e-12)


def test_predict_adds_height_scaled_process_noise() -> None:
    kf = kalman.create(START)
    kalman.predict(kf)
    np.testing.assert_array_equal(kf.x.ravel(), [10, 20, 0.5, 100, 0, 0, 0, 0])
    assert kf.P[0, 0] == pytest.approx(100 + 39.0625 + 25)
    assert kf.P[0, 4] == pytest.approx(39.0625)
    assert kf.P[4, 4] == pytest.approx(39.0625 + 0.390625)
    assert kf.P[2, 2] == pytest.approx(2e-4 + 1e-10)
    assert kf.P[3, 3] == pytest.approx(164.0625)
    assert kf.P[0, 1] == 0


def test_update_then_predict_follows_the_measurement() -> None:
    kf = kalman.create(START)
    kalman.predict(kf)
    kalman.update(kf, START + np.array([S_POS, 0, 0, 0]))
    # gain on x: 164.0625 / 189.0625, on vx: 39.0625 / 189.0625; innovation 13.75 = sqrt(189.0625)
    assert kf.x[0, 0] == pytest.approx(10 + 164.0625 / S_POS)
    assert kf.x[4, 0] == pytest.approx(39.0625 / S_POS)
    np.testing.assert_allclose(kf.x.ravel()[[1, 2, 3, 5, 6, 7]], [20, 0.5, 100, 0, 0, 0])
    assert kf.P[0, 0] == pytest.approx(164.0625 * 25 / 189.0625)
    kalman.predict(kf)
    assert kf.x[0, 0] == pytest.approx(10 + (164.0625 + 39.0625) / S_POS)


@pytest.mark.parametrize(
    ("offset", "distance", "gated"),
    [
        ([0, 0, 0, 0], 0.0, False),
        ([S_POS, 0, 0, 0], 1.0, False),
        ([0, -S_POS, 0, 0], 1.0, False),
        ([3 * S_POS, 0, 0, 0], 9.0, False),
        ([0, 0, 0, 4 * S_POS], 16.0, True),
        ([4 * S_POS, 4 * S_POS, 0, 0], 32.0, True),
    ],
    ids=["at-mean", "1-std-x", "1-std-y", "3-std-x", "4-std-h", "far-diagonal"],
)
def test_gating_distance(offset: list[float], distance: float, gated: bool) -> None:
    kf = kalman.create(START)
    kalman.predict(kf)
    mean, cov = kalman.project(kf)
    got = kalman.gating_distance(mean[None], cov[None], (START + offset)[None])
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(distance, abs=1e-12)
    assert (got[0, 0] > 9.4877) == gated


def test_gating_distance_of_several_boxes() -> None:
    kf = kalman.create(START)
    kalman.predict(kf)
    boxes = START + np.array([[0, 0, 0, 0], [2 * S_POS, 0, 0, 0]])
    mean, cov = kalman.project(kf)
    np.testing.assert_allclose(kalman.gating_distance(mean[None], cov[None], boxes), [[0, 4]],
                               atol=1e-12)


def test_gating_distance_of_several_tracks_matches_one_at_a_time() -> None:
    filters = [kalman.create(START), kalman.create(START * [1.1, 0.9, 1, 1.2])]
    for kf in filters:
        kalman.predict(kf)
    boxes = START + np.array([[0, 0, 0, 0], [2 * S_POS, 0, 0, 0], [5, -3, 0.1, 4]])
    means, covs = zip(*map(kalman.project, filters), strict=True)
    together = kalman.gating_distance(np.array(means), np.array(covs), boxes)
    alone = [kalman.gating_distance(m[None], c[None], boxes)[0]
             for m, c in zip(means, covs, strict=True)]
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    assert kalman.gating_distance(np.zeros((0, 4)), np.zeros((0, 4, 4)), boxes).shape == (0, 3)
