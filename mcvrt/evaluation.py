"""Score a run against ground truth: per-camera MOT metrics and cross-camera identity measures.

Per camera: MOTA, IDF1, IDP, IDR and ID switches of the run's per-camera tracks (`mot/<cam>.txt`).
Cross-camera, the AI City way: every camera's frame ids are shifted by a cumulative offset so
all cameras share one timeline, boxes match at IoU >= 0.5, and the identity measures are computed
over all cameras with global ids (`multicamera.txt`). motmetrics accumulates and scores; only the
IoU matrix is computed here (motmetrics 1.4's `iou_matrix` breaks under NumPy 2).

Oracle-link bound: the run's own per-camera tracks, each relabelled with the ground-truth identity
it matches in most frames, scored cross-camera the same way. It is what a perfect cross-camera
linker could reach with these tracks, so the gap to the cross-camera row is what linking loses.

Ground truth is either an AI-City file (`camera_id obj_id frame_id x y w h xw yw`) or a folder
holding `gt/multicamera.txt`, optionally `gt/<cam>/gt.txt` (MOTChallenge) and `scenario.json`
(whose camera conditions give the day / night / fog breakdown), as written by `mcvrt.scenario`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import motmetrics as mm
import numpy as np
from scipy.optimize import linear_sum_assignment

from mcvrt.boxes import box_iou
from mcvrt.errors import InputError

AICITY_COLUMNS = "camera_id obj_id frame_id x y w h xw yw"
METRICS = ["mota", "idf1", "idp", "idr", "num_switches", "num_false_positives", "num_misses",
           "num_objects", "num_unique_objects"]

Table = np.ndarray  # (N, 6) float64 rows: frame, id, x, y, w, h


@dataclass(frozen=True)
class Scores:
    """One row of the report. Cross-camera rows count an ID switch when a vehicle's global id
    changes, including between cameras."""

    mota: float
    idf1: float
    idp: float
    idr: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int
    gt_ids: int


@dataclass(frozen=True)
class EvalReport:
    cameras: dict[str, Scores]  # run camera name -> per-camera tracking scores
    conditions: dict[str, str]  # camera name -> day / night / fog ("" when the GT does not say)
    by_condition: dict[str, Scores]  # condition -> scores over its cameras ("all" = every camera)
    cross_camera: Scores  # global ids over all cameras on one timeline
    camera_global: dict[str, Scores]  # camera name -> its global ids scored on it alone (tracks
    # that association joined within the camera, e.g. re-linked fragments, count as one)
    oracle_link: Scores  # per-camera tracks relabelled with their best ground-truth id, as above
    by_pair: dict[str, Scores]  # "camA-camB" -> cross-camera scores on two cameras sharing vehicles
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; NaN (undefined, e.g. no ground truth) becomes null."""

        def clean(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            return None if isinstance(value, float) and math.isnan(value) else value

        return clean(asdict(self))


def evaluate_run(gt: Path, run_dir: Path, iou_threshold: float = 0.5) -> EvalReport:
    """Compare the run in `run_dir` with ground truth `gt` (AI-City file or scenario folder)."""
    gt, run_dir = Path(gt), Path(run_dir)
    run_names = _read_run_cameras(run_dir)  # int id -> run camera name
    gt_multi, gt_per_camera, conditions = _read_ground_truth(gt)
    missing = sorted(set(gt_multi) - set(run_names))
    if missing:
        listed = ", ".join(f"{name}={cid}" for cid, name in sorted(run_names.items()))
        raise InputError(f"{gt}: ground-truth camera id {missing[0]} matches no video in the run "
                         f"({listed})")
    cams = sorted(gt_multi)
    pred_multi = _read_aicity(run_dir / "multicamera.txt")
    empty = np.zeros((0, 6))
    per_cam_pred = {c: _read_mot(run_dir / "mot" / f"{run_names[c]}.txt") for c in cams}

    accs = {c: _accumulate([(gt_per_camera.get(c, gt_multi[c]), per_cam_pred[c])], iou_threshold)
            for c in cams}
    names = {c: run_names[c] for c in cams}
    cond = {names[c]: conditions.get(c, "") for c in cams}
    groups = {"all": cams} | {k: [c for c in cams if conditions.get(c) == k]
                              for k in sorted(set(conditions.get(c, "") for c in cams)) if k}
    by_condition = {k: _overall([accs[c] for c in group]) for k, group in groups.items()}

    def cross(subset: list[int], pred: dict[int, Table]) -> Scores:
        pairs = [(gt_multi[c], pred.get(c, empty)) for c in subset]
        return _scores(_accumulate(pairs, iou_threshold))

    oracle = oracle_link_tables({c: gt_multi[c] for c in cams}, per_cam_pred, iou_threshold)

    shared_pairs = [(a, b) for a, b in itertools.combinations(cams, 2)
                    if set(gt_multi[a][:, 1]) & set(gt_multi[b][:, 1])]
    notes = tuple(f"run camera {name} (id {cid}) has no ground truth; not scored"
                  for cid, name in sorted(run_names.items()) if cid not in gt_multi)
    return EvalReport(
        cameras={names[c]: _scores(accs[c]) for c in cams},
        conditions=cond,
        by_condition=by_condition,
        cross_camera=cross(cams, pred_multi),
        camera_global={names[c]: cross([c], pred_multi) for c in cams},
        oracle_link=cross(cams, oracle),
        by_pair={f"{names[a]}-{names[b]}": cross([a, b], pred_multi) for a, b in shared_pairs},
        notes=notes,
    )


def camera_scores(gt: Table, pred: Table, iou_threshold: float = 0.5) -> Scores:
    """Tracking scores of one camera's (frame, id, x, y, w, h) rows against its ground truth."""
    return _scores(_accumulate([(gt, pred)], iou_threshold))


def format_report(report: EvalReport) -> str:
    """The report as a plain-text table."""
    head = (f"{'':<22}{'MOTA':>7}{'IDF1':>7}{'IDP':>7}{'IDR':>7}"
            f"{'IDsw':>6}{'FP':>7}{'FN':>7}{'GT':>7}")

    def row(label: str, s: Scores) -> str:
        rates = "".join(f"{v:>7.3f}" for v in (s.mota, s.idf1, s.idp, s.idr))
        return (f"{label:<22}{rates}{s.id_switches:>6}{s.false_positives:>7}{s.misses:>7}"
                f"{s.gt_boxes:>7}")

    lines = ["per camera", head]
    lines += [row(f"  {name} {report.conditions[name]}".rstrip(), s)
              for name, s in report.cameras.items()]
    several = len(report.by_condition) > 2  # "all" plus two or more conditions
    lines += [row(f"  {k}" if k == "all" else f"  all {k}", s)
              for k, s in report.by_condition.items() if k == "all" or several]
    lines += ["cross-camera (global ids, AI City)", head, row("  all cameras", report.cross_camera)]
    lines += [row(f"  {pair}", s) for pair, s in report.by_pair.items()]
    lines += [row(f"  {name} alone", s) for name, s in report.camera_global.items()]
    lines += [row("  oracle-link bound", report.oracle_link)]
    return "\n".join(lines + [f"note: {n}" for n in report.notes])


def iou_distance(gt_xywh: np.ndarray, pred_xywh: np.ndarray, iou_threshold: float) -> np.ndarray:
    """(G, P) matrix of 1 - IoU, NaN (= may not match) where IoU < `iou_threshold`."""
    g, p = (np.asarray(x, np.float64).reshape(-1, 4) for x in (gt_xywh, pred_xywh))
    iou = box_iou(np.hstack([g[:, :2], g[:, :2] + g[:, 2:]]),
                  np.hstack([p[:, :2], p[:, :2] + p[:, 2:]]))
    return np.where(iou >= iou_threshold, 1.0 - iou, np.nan)


def oracle_link_labels(gt: Table, tracks: Table, iou_threshold: float) -> dict[int, int | None]:
    """Each track id of one camera -> the ground-truth id it matches in most frames, or None.

    Per frame, ground-truth and track boxes match one to one (most IoU, at least `iou_threshold`).
    Tracks take their identity in order of matched frames, most first (ties: lower id first);
    one whose identity a time-overlapping track of the camera already holds gets None, as does
    one that matches nothing: no linker may give two tracks seen at once one identity.
    """
    counts: dict[int, dict[int, int]] = {}  # track id -> {gt id: matched frames}
    gt_frames = _split_frames(gt)
    for frame, (tids, tboxes) in _split_frames(tracks).items():
        gids, gboxes = gt_frames.get(frame, (np.zeros(0, np.int64), np.zeros((0, 4))))
        cost = np.nan_to_num(iou_distance(gboxes, tboxes, iou_threshold), nan=2.0)
        for g, t in zip(*linear_sum_assignment(cost), strict=True):
            if cost[g, t] <= 1.0:
                per_track = counts.setdefault(int(tids[t]), {})
                per_track[int(gids[g])] = per_track.get(int(gids[g]), 0) + 1
    frames = {int(t): tracks[tracks[:, 1] == t, 0] for t in np.unique(tracks[:, 1])}
    spans = {t: (f.min(), f.max()) for t, f in frames.items()}
    labels: dict[int, int | None] = dict.fromkeys(spans)
    best = {t: min(c.items(), key=lambda item: (-item[1], item[0])) for t, c in counts.items()}
    for track in sorted(best, key=lambda t: (-best[t][1], t)):
        gid, (start, end) = best[track][0], spans[track]
        if not any(labels[o] == gid and spans[o][0] <= end and start <= spans[o][1]
                   for o in labels):
            labels[track] = gid
    return labels


def oracle_link_tables(gt: dict[int, Table], tracks: dict[int, Table], iou_threshold: float
                       ) -> dict[int, Table]:
    """Per camera, `tracks` relabelled by `oracle_link_labels`; tracks left without a
    ground-truth identity get ids of their own, above every ground-truth id."""
    fresh = int(max((g[:, 1].max() for g in gt.values() if len(g)), default=0))
    out = {}
    for cam, table in tracks.items():
        labels = oracle_link_labels(gt.get(cam, np.zeros((0, 6))), table, iou_threshold)
        for track in sorted(labels):
            if labels[track] is None:
                fresh += 1
                labels[track] = fresh
        out[cam] = table.copy()
        out[cam][:, 1] = [labels[int(t)] for t in table[:, 1]]
    return out


def _accumulate(cameras: list[tuple[Table, Table]], iou_threshold: float) -> mm.MOTAccumulator:
    """One accumulator over (gt, pred) tables of several cameras laid end to end in time."""
    acc = mm.MOTAccumulator(auto_id=False)
    offset = 0
    for gt, pred in cameras:
        gt_frames, pred_frames = _split_frames(gt), _split_frames(pred)
        no_rows = (np.zeros(0, np.int64), np.zeros((0, 4)))
        for frame in sorted(gt_frames.keys() | pred_frames.keys()):
            gid, gbox = gt_frames.get(frame, no_rows)
            pid, pbox = pred_frames.get(frame, no_rows)
            acc.update(gid, pid, iou_distance(gbox, pbox, iou_threshold), frameid=offset + frame)
        offset += int(max(gt_frames.keys() | pred_frames.keys(), default=0))
    return acc


def _split_frames(table: Table) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{frame: (ids, xywh boxes)} of a (frame, id, x, y, w, h) table."""
    if not len(table):  # np.split would still hand back one (empty) part
        return {}
    table = table[np.argsort(table[:, 0], kind="stable")]
    frames, starts = np.unique(table[:, 0].astype(np.int64), return_index=True)
    return {int(f): (part[:, 1].astype(np.int64), part[:, 2:6])
            for f, part in zip(frames, np.split(table, starts[1:]), strict=True)}


def _scores(acc: mm.MOTAccumulator) -> Scores:
    return _row(mm.metrics.create().compute(acc, metrics=METRICS, name="x").iloc[0])


def _overall(accs: list[mm.MOTAccumulator]) -> Scores:
    """Scores over several cameras' accumulators merged (ids kept apart per camera)."""
    names = [str(i) for i in range(len(accs))]
    table = mm.metrics.create().compute_many(accs, metrics=METRICS, names=names,
                                             generate_overall=True)
    return _row(table.loc["OVERALL"])


def _row(r: Any) -> Scores:
    return Scores(
        mota=float(r["mota"]), idf1=float(r["idf1"]), idp=float(r["idp"]), idr=float(r["idr"]),
        id_switches=int(r["num_switches"]), false_positives=int(r["num_false_positives"]),
        misses=int(r["num_misses"]), gt_boxes=int(r["num_objects"]),
        gt_ids=int(r["num_unique_objects"]),
    )


# ---- reading files ---------------------------------------------------------------------------


def _read_rows(path: Path, columns: tuple[int, ...], fmt: str) -> np.ndarray:
    """Numeric rows of a comma- or space-separated text file, each with an allowed column count."""
    if not path.is_file():
        raise InputError(f"file not found: {path} (expected {fmt})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (expected {fmt})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = re.split(r"[,\s]+", line.strip())
        if fields == [""]:
            continue
        if len(fields) not in columns:
            want = " or ".join(map(str, columns))
            raise InputError(f"{path}:{n}: expected {want} columns ({fmt}), got {len(fields)}")
        try:
            values = [float(f) for f in fields[: min(columns)]]
        except ValueError:
            raise InputError(f"{path}:{n}: non-numeric value in {line.strip()!r}") from None
        if not np.all(np.isfinite(values)):
            raise InputError(f"{path}:{n}: infinite or NaN value in {line.strip()!r}")
        rows.append(values)
    return np.array(rows, np.float64).reshape(-1, min(columns))


def _read_aicity(path: Path) -> dict[int, Table]:
    """AI-City multi-camera file -> {camera id: (frame, id, x, y, w, h) rows}."""
    rows = _read_rows(path, (9,), f"AI-City: {AICITY_COLUMNS}")
    return {int(c): rows[rows[:, 0] == c][:, [2, 1, 3, 4, 5, 6]] for c in np.unique(rows[:, 0])}


def _read_mot(path: Path) -> Table:
    """MOTChallenge file (9 or 10 columns) -> (frame, id, x, y, w, h) rows."""
    return _read_rows(path, (9, 10), "MOTChallenge: frame,id,x,y,w,h,conf,...")[:, :6]


def _read_run_cameras(run_dir: Path) -> dict[int, str]:
    """`summary.json` camera names -> {AI-City integer id: name}."""
    path = run_dir / "summary.json"
    try:
        cameras = json.loads(path.read_text())["cameras"]
        return {int(cid): str(name) for name, cid in cameras.items()}
    except FileNotFoundError:
        raise InputError(f"not a run folder (no summary.json): {run_dir}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: needs {{\"cameras\": {{name: int id}}}} ({exc})") from None


def _read_ground_truth(gt: Path) -> tuple[dict[int, Table], dict[int, Table], dict[int, str]]:
    """(AI-City rows per camera id, MOTChallenge rows per camera id, condition per camera id)."""
    if gt.is_file():
        return _read_aicity(gt), {}, {}
    if not gt.is_dir():
        raise InputError(f"ground truth not found: {gt}")
    multi = _read_aicity(gt / "gt" / "multicamera.txt")
    scenario = gt / "scenario.json"
    if not scenario.is_file():
        return multi, {}, {}
    try:
        cameras = json.loads(scenario.read_text())["cameras"]
        ids = {int(c["id"]): (str(c["name"]), str(c.get("condition", ""))) for c in cameras}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{scenario}: cannot read its camera list ({exc})") from None
    per_camera = {cid: _read_mot(gt / "gt" / name / "gt.txt") for cid, (name, _) in ids.items()
                  if (gt / "gt" / name / "gt.txt").exists()}
    return multi, per_camera, {cid: cond for cid, (_, cond) in ids.items()}
