"""Ranking metrics on hand-computed cases, protocols, and evaluation of an Embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reid.data import ReidData, Sample, read_dataset
from reid.data.datasets import VEHICLEID_TRIALS
from reid.embedder import ColorHistogramEmbedder
from reid.errors import ReidError
from reid.evaluate import (
    degrade_images,
    eval_reid,
    evaluate,
    format_table,
    leave_one_out,
    protocol_trials,
    rank_metrics,
)

Q_IDS, Q_CAMS = np.array([1, 2, 3]), np.array([0, 0, 1])
G_IDS, G_CAMS = np.array([1, 2, 1, 3]), np.array([0, 1, 1, 1])
DIST = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.3, 0.1, 0.2], [0.3, 0.2, 0.4, 0.1]])


def test_rank_metrics_removes_same_id_same_camera_junk() -> None:
    # q0: g0 is junk (id 1, cam 0) -> ranking g1 g2 g3, first match at rank 2, AP 1/2
    # q1: ranking g2 g3 g1 g0, match g1 at rank 3, AP 1/3
    # q2: its only match g3 is junk -> skipped
    cmc, m_ap = rank_metrics(DIST, Q_IDS, G_IDS, Q_CAMS, G_CAMS, max_rank=5)
    assert cmc.tolist() == [0.0, 0.5, 1.0, 1.0, 1.0]
    assert m_ap == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_rank_metrics_without_junk_removal() -> None:
    # q0: matches at ranks 1, 3 -> AP (1 + 2/3)/2; q1: rank 3 -> 1/3; q2: rank 1 -> 1
    cmc, m_ap = rank_metrics(DIST, Q_IDS, G_IDS, Q_CAMS, G_CAMS, max_rank=3, remove_junk=False)
    assert cmc.tolist() == pytest.approx([2 / 3, 2 / 3, 1.0])
    assert m_ap == pytest.approx((5 / 6 + 1 / 3 + 1) / 3)


def test_rank_metrics_ties_follow_gallery_order_and_no_valid_query_raises() -> None:
    cmc, _ = rank_metrics(
        np.zeros((1, 3)),
        np.array([5]),
        np.array([4, 5, 5]),
        np.array([0]),
        np.array([1, 1, 1]),
        max_rank=2,
    )
    assert cmc.tolist() == [0.0, 1.0]
    with pytest.raises(ReidError, match="no query has a correct match"):
        rank_metrics(
            np.zeros((1, 2)), np.array([5]), np.array([4, 6]), np.array([0]), np.array([1, 1])
        )


def test_leave_one_out_excludes_only_the_query_itself() -> None:
    ids = np.array([0, 0, 1, 1])
    emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.8, 0.6], [0.0, 1.0]])
    dist = 2 - 2 * emb @ emb.T
    cmc, m_ap = leave_one_out(dist, ids, max_rank=3)
    # item 0: nearest 2 (wrong), then 1 -> rank 2; item 1: nearest 2 (0.96) then 3 (0.8)
    # then 0 (0.6) -> rank 3; item 2: 1 (0.96), 0 (0.8), then 3 (0.6) -> rank 3;
    # item 3: nearest 1 (0.8) then 2 (0.6) -> rank 2
    assert cmc.tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert m_ap == pytest.approx((1 / 2 + 1 / 3 + 1 / 3 + 1 / 2) / 4)


def test_camera_swap_and_vehicleid_trials() -> None:
    test = tuple(
        Sample(Path(f"{i}.jpg"), pid, cam)
        for i, (pid, cam) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1), (1, 1)])
    )
    swap = protocol_trials(ReidData("uit", Path("."), (), test, "camera-swap"))
    assert [(q.tolist(), g.tolist(), junk) for q, g, junk in swap] == [
        ([0, 2], [1, 3, 4], True),
        ([1, 3, 4], [0, 2], True),
    ]
    trials = protocol_trials(ReidData("vehicleid", Path("."), (), test, VEHICLEID_TRIALS))
    assert len(trials) == 10
    for query, gallery, junk in trials:
        assert not junk and sorted(np.concatenate([query, gallery]).tolist()) == [0, 1, 2, 3, 4]
        assert sorted(test[i].pid for i in gallery) == [0, 1]
    again = protocol_trials(ReidData("vehicleid", Path("."), (), test, VEHICLEID_TRIALS))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(trials, again, strict=True))


def test_degrade_images_conditions() -> None:
    images = [np.full((4, 4, 3), 200, np.uint8) for _ in range(20)]
    darker = degrade_images(images, "darker")
    assert sum(int(im[0, 0, 0]) == 60 for im in darker) == 2  # 10% at x0.3
    assert all(int(im[0, 0, 0]) == 60 for im in degrade_images(images, "dark"))
    low = degrade_images(images, "low-light")
    assert all(im.mean() < 120 for im in low)
    with pytest.raises(ReidError, match="unknown image condition 'snow'"):
        degrade_images(images, "snow")


def test_colour_histogram_is_evaluated_by_the_same_code(uit_root: Path) -> None:
    data = read_dataset(uit_root)
    result = evaluate(ColorHistogramEmbedder(), data, ("original", "dark"))
    assert result["original"]["R1"] == 1.0 and result["original"]["mAP"] == 1.0  # flat colours
    assert set(result["dark"]) == {"R1", "R5", "R10", "mAP", "alsa_R1", "alsa_R5", "alsa_mAP"}
    assert eval_reid("color-histogram", uit_root, conditions=("original",)) == {
        "original": result["original"]
    }


def test_format_table() -> None:
    rows = {"hist": {"original": {"R1": 0.25, "mAP": 0.5}, "dark": {"R1": 0.125, "mAP": 0.2}}}
    assert format_table(rows, ("R1", "mAP")) == (
        "| model | original R1 | original mAP | dark R1 | dark mAP |\n"
        "|---|---|---|---|---|\n"
        "| hist | 25.0 | 50.0 | 12.5 | 20.0 |"
    )
