"""`evaluate_run` against hand-computed MOTA / IDF1, perfect predictions and bad ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcvrt.cli import main
from mcvrt.errors import InputError
from mcvrt.evaluation import (
    evaluate_run,
    format_report,
    iou_distance,
    oracle_link_labels,
    oracle_link_tables,
)

A1, B1, A2, FAR = (0, 0, 10, 10), (50, 50, 10, 10), (20, 20, 10, 10), (100, 100, 10, 10)
OFF_B = (56, 56, 10, 10)  # overlaps B by 4x4: IoU = 16 / (100 + 100 - 16) = 0.087 < 0.5

# Ground truth (camera, global id, frame, box): vehicle 1 ("A") in cam1 frames 1-4, then in cam2
# frames 1-2; vehicle 2 ("B") in cam1 frames 1-2.
GT = ([(1, 1, f, A1) for f in (1, 2, 3, 4)] + [(1, 2, f, B1) for f in (1, 2)]
      + [(2, 1, f, A2) for f in (1, 2)])

# Per-camera tracks of cam1 (frame, track id, box):
# A: track 7 in frames 1-2, track 8 in frames 3-4 -> 1 ID switch; B: track 9 in frame 1, and
# in frame 2 track 9 is off by IoU 0.087 -> 1 miss + 1 false positive; track 10 in frame 4 -> FP.
CAM1_TRACKS = ([(1, 7, A1), (2, 7, A1), (3, 8, A1), (4, 8, A1), (1, 9, B1), (2, 9, OFF_B),
                (4, 10, FAR)])
# cam2 tracks A perfectly with one track.
CAM2_TRACKS = [(1, 3, A2), (2, 3, A2)]

# Global ids of the run (camera, global id, frame, box): cam1's A is 100 in all four frames,
# B is 101 in frame 1; cam2's A got a new global id 102 (the cross-camera link was missed).
RUN_GLOBAL = ([(1, 100, f, A1) for f in (1, 2, 3, 4)] + [(1, 101, 1, B1)]
              + [(2, 102, f, A2) for f in (1, 2)])


def _aicity(rows: list, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{c} {i} {f} {x} {y} {w} {h} -1 -1\n"
                            for c, i, f, (x, y, w, h) in rows))
    return path


def _mot(rows: list, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{f},{i},{x},{y},{w},{h},1,-1,-1,-1\n" for f, i, (x, y, w, h) in rows))
    return path


def _run(tmp: Path, cam1: list, cam2: list, global_rows: list) -> Path:
    run = tmp / "run"
    _mot(cam1, run / "mot" / "cam1.txt")
    _mot(cam2, run / "mot" / "cam2.txt")
    _aicity(global_rows, run / "multicamera.txt")
    (run / "summary.json").write_text(json.dumps({"cameras": {"cam1": 1, "cam2": 2}}))
    return run


def test_hand_computed_case(tmp_path: Path) -> None:
    report = evaluate_run(_aicity(GT, tmp_path / "gt.txt"), _run(tmp_path, CAM1_TRACKS,
                                                                CAM2_TRACKS, RUN_GLOBAL))
    cam1 = report.cameras["cam1"]
    # GT boxes 6; matched 5 (A x4, B in frame 1); FN 1, FP 2, IDsw 1.
    # MOTA = 1 - (FN + FP + IDsw) / GT = 1 - (1 + 2 + 1) / 6 = 1/3.
    assert (cam1.misses, cam1.false_positives, cam1.id_switches, cam1.gt_boxes) == (1, 2, 1, 6)
    assert cam1.mota == pytest.approx(1 / 3)
    # Identity matching: A<->7 (or 8) shares 2 boxes, B<->9 shares 1 -> IDTP 3 of 7 predicted
    # and 6 true boxes: IDP = 3/7, IDR = 3/6, IDF1 = 2*3 / (7 + 6) = 6/13.
    assert (cam1.idp, cam1.idr, cam1.idf1) == pytest.approx((3 / 7, 1 / 2, 6 / 13))
    assert report.cameras["cam2"].idf1 == 1.0 and report.cameras["cam2"].mota == 1.0

    # Cross-camera on one timeline (cam2's frames shifted by cam1's 4): GT 8 boxes, predicted 7.
    # Best identity matching: A<->100 (4 boxes), B<->101 (1); 102 stays unmatched -> IDTP 5,
    # IDP = 5/7, IDR = 5/8, IDF1 = 2*5 / (7 + 8) = 2/3; A switches 100 -> 102 between cameras.
    cross = report.cross_camera
    assert (cross.idp, cross.idr, cross.idf1) == pytest.approx((5 / 7, 5 / 8, 2 / 3))
    assert cross.id_switches == 1
    assert report.by_pair["cam1-cam2"] == cross  # the only pair sharing a vehicle
    # The "all" row pools both cameras: GT 8, FN 1, FP 2, IDsw 1 -> MOTA = 1 - 4/8.
    assert report.by_condition["all"].mota == pytest.approx(0.5)
    assert "cam1" in format_report(report) and "oracle-link bound" in format_report(report)
    assert json.loads(json.dumps(report.to_dict()))["cross_camera"]["idf1"] == pytest.approx(2 / 3)


def test_oracle_link_bound_relabels_tracks_with_their_best_identity(tmp_path: Path) -> None:
    report = evaluate_run(_aicity(GT, tmp_path / "gt.txt"), _run(tmp_path, CAM1_TRACKS,
                                                                CAM2_TRACKS, RUN_GLOBAL))
    # Tracks 7 and 8 (cam1) and 3 (cam2) become vehicle 1, track 9 vehicle 2 (its frame-2 box
    # misses), track 10 matches nothing and keeps an id of its own. Predicted boxes 9, true 8;
    # 1 <-> 1 shares 6 boxes, 2 <-> 2 one: IDF1 = 2*7 / (9 + 8) = 14/17, no ID switch left.
    oracle = report.oracle_link
    assert (oracle.idp, oracle.idr, oracle.idf1) == pytest.approx((7 / 9, 7 / 8, 14 / 17))
    assert oracle.id_switches == 0 and oracle.idf1 > report.cross_camera.idf1
    assert report.to_dict()["oracle_link"]["idf1"] == pytest.approx(14 / 17)


def test_eval_command_prints_and_writes_the_oracle_link_bound(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path, CAM1_TRACKS, CAM2_TRACKS, RUN_GLOBAL)
    assert main(["eval", "--gt", str(_aicity(GT, tmp_path / "gt.txt")), "--run", str(run)]) == 0
    assert "oracle-link bound" in capsys.readouterr().out
    written = json.loads((run / "eval.json").read_text())
    assert written["oracle_link"]["idf1"] == pytest.approx(14 / 17)


def test_oracle_link_labels_never_join_tracks_seen_at_once() -> None:
    # Vehicle 1 in frames 1-7. Track 5 holds it in frames 1-3; track 6 doubles it in frame 3
    # (a weaker box, so it loses the one-to-one match) and holds it in frames 4-5: it overlaps
    # track 5 in time, so no linker may join them. Track 7 (frames 6-7) is a later fragment;
    # track 8 boxes nothing.
    box, weak, far = (0, 0, 10, 10), (1, 1, 10, 10), (100, 100, 10, 10)
    gt = np.array([(f, 1, *box) for f in range(1, 8)], np.float64)
    tracks = np.array([(1, 5, *box), (2, 5, *box), (3, 5, *box), (3, 6, *weak), (4, 6, *box),
                       (5, 6, *box), (6, 7, *box), (7, 7, *box), (2, 8, *far)], np.float64)
    assert oracle_link_labels(gt, tracks, 0.5) == {5: 1, 6: None, 7: 1, 8: None}
    relabelled = oracle_link_tables({1: gt}, {1: tracks}, 0.5)[1]
    assert relabelled[:, 1].tolist() == [1, 1, 1, 2, 2, 2, 1, 1, 3]  # new ids above the GT's


def test_ground_truth_as_prediction_scores_one(tmp_path: Path) -> None:
    cam1 = [(f, i, box) for c, i, f, box in GT if c == 1]
    cam2 = [(f, i, box) for c, i, f, box in GT if c == 2]
    report = evaluate_run(_aicity(GT, tmp_path / "gt.txt"), _run(tmp_path, cam1, cam2, GT))
    for scores in [*report.cameras.values(), report.cross_camera, report.oracle_link]:
        assert (scores.idf1, scores.mota, scores.id_switches) == (1.0, 1.0, 0)


def test_scenario_folder_gives_condition_breakdown(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    _aicity(GT, scenario / "gt" / "multicamera.txt")
    _mot([(f, i, b) for c, i, f, b in GT if c == 1], scenario / "gt" / "cam1" / "gt.txt")
    cameras = [{"name": "cam1", "id": 1, "condition": "day"},
               {"name": "cam2", "id": 2, "condition": "fog"}]
    (scenario / "scenario.json").write_text(json.dumps({"cameras": cameras}))
    report = evaluate_run(scenario, _run(tmp_path, CAM1_TRACKS, CAM2_TRACKS, RUN_GLOBAL))
    assert report.conditions == {"cam1": "day", "cam2": "fog"}
    assert report.by_condition["day"] == report.cameras["cam1"]
    assert report.by_condition["fog"] == report.cameras["cam2"]


def test_iou_distance_gates_below_threshold() -> None:
    d = iou_distance(np.array([A1, B1]), np.array([A1, OFF_B, (5, 0, 10, 10)]), 0.3)
    assert d[0, 0] == 0.0 and np.isnan(d[1, 1])
    assert d[0, 2] == pytest.approx(1 - 50 / 150)  # IoU 1/3 passes a 0.3 gate


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: None, "ground truth not found"),
        (lambda p: p.write_text("1 1 1 0 0 10 10\n"), r"gt.txt:1: expected 9 columns"),
        (lambda p: p.write_text("1 1 1 0 0 ten 10 -1 -1\n"), "non-numeric"),
        (lambda p: p.write_text("5 1 1 0 0 10 10 -1 -1\n"), "camera id 5 matches no video"),
    ],
)
def test_bad_ground_truth_raises_one_line(tmp_path: Path, write, message: str) -> None:
    gt = tmp_path / "gt.txt"
    write(gt)
    run = _run(tmp_path, CAM1_TRACKS, CAM2_TRACKS, RUN_GLOBAL)
    with pytest.raises(InputError, match=message) as err:
        evaluate_run(gt if gt.exists() else tmp_path / "missing" / "gt.txt", run)
    assert "\n" not in str(err.value)


def test_scenario_folder_without_multicamera_file(tmp_path: Path) -> None:
    run = _run(tmp_path, CAM1_TRACKS, CAM2_TRACKS, RUN_GLOBAL)
    (tmp_path / "scenario").mkdir()
    with pytest.raises(InputError, match=r"file not found: .*multicamera.txt \(expected AI-City"):
        evaluate_run(tmp_path / "scenario", run)


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no summary\.json"):
        evaluate_run(_aicity(GT, tmp_path / "gt.txt"), tmp_path)
