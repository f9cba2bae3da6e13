import numpy as np
import pytest

from mcvrt.tracking.association import (
    INFTY_COST,
    Matches,
    assign,
    cosine_cost,
    iou_cost,
    matching_cascade,
)

INF = INFTY_COST
E = np.eye(8)  # orthogonal unit embeddings: cosine distance 1 between rows


@pytest.mark.parametrize(
    ("cost", "max_cost", "pairs", "rows", "cols"),
    [
        (np.zeros((0, 3)), 1.0, [], [], [0, 1, 2]),
        (np.zeros((2, 0)), 1.0, [], [0, 1], []),
        (np.zeros((0, 0)), 1.0, [], [], []),
        ([[INF, INF], [INF, INF]], 0.5, [], [0, 1], [0, 1]),
        ([[0.6]], 0.5, [], [0], [0]),
        ([[4, 1, 3], [2, 0, 5], [3, 2, 2]], 10.0, [[0, 1], [1, 0], [2, 2]], [], []),
        ([[0.9, 0.1, 0.5], [0.2, 0.15, 0.9]], 1.0, [[0, 1], [1, 0]], [], [2]),
        ([[0.5, 0.4], [0.1, 0.9], [0.3, 0.2]], 1.0, [[1, 0], [2, 1]], [0], []),
        ([[0.1, 0.9], [0.2, 0.95]], 0.5, [[0, 0]], [1], [1]),
    ],
    ids=["0xN", "Nx0", "0x0", "all-gated", "above-max", "3x3-optimum-not-greedy",
         "wide-2x3", "tall-3x2", "partly-gated"],
)
def test_assign(cost: list, max_cost: float, pairs: list, rows: list, cols: list) -> None:
    m = assign(np.asarray(cost, np.float64), max_cost)
    np.testing.assert_array_equal(m.pairs, np.asarray(pairs, np.int64).reshape(-1, 2))
    np.testing.assert_array_equal(m.unmatched_rows, rows)
    np.testing.assert_array_equal(m.unmatched_cols, cols)
    for field in (m.pairs, m.unmatched_rows, m.unmatched_cols):
        assert field.dtype == np.int64


def test_assign_rejects_a_vector() -> None:
    with pytest.raises(ValueError, match="2-D"):
        assign(np.zeros(3), 1.0)


def test_matches_from_pairs_sorts_by_row() -> None:
    m = Matches.from_pairs(np.array([[2, 0], [0, 3]]), 4, 4)
    np.testing.assert_array_equal(m.pairs, [[0, 3], [2, 0]])
    np.testing.assert_array_equal(m.unmatched_rows, [1, 3])
    np.testing.assert_array_equal(m.unmatched_cols, [1, 2])


@pytest.mark.parametrize(
    ("cost", "ages", "pairs", "rows", "cols"),
    [
        ([[0.1], [0.2]], [2, 1], [[1, 0]], [0], []),
        ([[0.2, 0.25], [0.1, 0.9]], [1, 2], [[0, 0]], [1], [1]),
        ([[0.1, 0.9], [0.9, 0.1]], [3, 2], [[0, 0], [1, 1]], [], []),
        ([[0.1], [0.1]], [0, 4], [], [0, 1], [0]),
        (np.zeros((0, 2)), [], [], [], [0, 1]),
    ],
    ids=["recent-first", "level-local-not-global", "two-levels", "ages-out-of-range", "no-tracks"],
)
def test_matching_cascade(cost: list, ages: list, pairs: list, rows: list, cols: list) -> None:
    m = matching_cascade(np.asarray(cost, np.float64), np.asarray(ages), max_age=3, max_cost=0.5)
    np.testing.assert_array_equal(m.pairs, np.asarray(pairs, np.int64).reshape(-1, 2))
    np.testing.assert_array_equal(m.unmatched_rows, rows)
    np.testing.assert_array_equal(m.unmatched_cols, cols)


def test_iou_cost() -> None:
    tracks = np.array([[0, 0, 10, 10], [100, 100, 110, 120]])
    dets = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]], np.float32)
    np.testing.assert_allclose(iou_cost(tracks, dets), [[0, 2 / 3, 1], [1, 1, 1]])
    assert iou_cost(np.zeros((0, 4)), dets).shape == (0, 3)
    assert iou_cost(tracks, np.zeros((0, 4))).shape == (2, 0)


def test_cosine_cost_takes_the_closest_gallery_feature() -> None:
    galleries = [E[[0, 1]], np.zeros((0,)), E[[2]]]
    mixed = (E[0] + E[1]) / np.sqrt(2)
    cost = cosine_cost(galleries, np.stack([E[0], mixed]))
    np.testing.assert_allclose(cost, [[0, 1 - 1 / np.sqrt(2)], [INF, INF], [1, 1]], atol=1e-7)
    assert cosine_cost(galleries, np.zeros((0, 8))).shape == (3, 0)
