"""Camera topology: between which cameras vehicles travel, how long it takes, and where they
leave the first camera's view and enter the second's.

A `Topology` maps an ordered camera pair (seen first, seen next) to a `Link`: the travel-time
window and, optionally, the exit zone in the first camera and the entry zone in the second.
It comes from the user's ``--topology`` YAML (`load_topology`) or is learned from the run's own
confident cross-camera pairs (`learn_topology`), and is written back as YAML that
`load_topology` reads (`topology_mapping`).

YAML format::

    pairs:
      - {cameras: [camA, camB], min_s: 5, max_s: 60}    # both directions
      - cameras: [camA, camB]       # camA first, then camB only (one_way: true, or zones given)
        min_s: 2.5                  # seconds from leaving camA's view to entering camB's
        max_s: 7.0                  # (min_s < 0: fields of view overlap)
        transitions: 12             # optional, informational: what a learned link rests on
        exit: {box: [x1, y1, x2, y2], heading_deg: -80, tolerance_deg: 40}   # in camA
        entry: {box: [x1, y1, x2, y2], heading_deg: 100, tolerance_deg: 40}  # in camB

Travel times are the gaps between the tracklets' last and first boxes, or, with
``matching.view_lead_s`` > 0, between their estimated view exit and entry (each end carried to
the view border along its end velocity, `table.seconds_to_border`): a tracklet starts after its
vehicle came into view and ends before it left.
A zone box is in pixels of its camera; a tracklet ends (exit) or begins (entry) in it when the
centre of its last (first) box lies inside, and, when the zone has a heading, when the
direction it moves there is within ``tolerance_deg`` of it (image axes: 0 = right, 90 = down).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.stats import beta

from mcvrt.association.table import Table
from mcvrt.config import safe_yaml
from mcvrt.errors import InputError

PAIR_KEYS = {"cameras", "min_s", "max_s", "one_way", "exit", "entry", "transitions"}
ZONE_KEYS = {"box", "heading_deg", "tolerance_deg"}


@dataclass(frozen=True)
class Zone:
    """Where tracklets of one camera end (exit) or begin (entry) on a link."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2 pixels
    heading_deg: float | None = None  # direction of motion there; None: any
    tolerance_deg: float = 45.0

    def holds(self, xy: np.ndarray, heading: np.ndarray) -> np.ndarray:
        """Mask of the points (N, 2) inside the box whose heading (N,) degrees fits (an
        unknown, NaN heading fits)."""
        x1, y1, x2, y2 = self.box
        inside = (xy[:, 0] >= x1) & (xy[:, 0] <= x2) & (xy[:, 1] >= y1) & (xy[:, 1] <= y2)
        if self.heading_deg is None:
            return inside
        off = np.abs((heading - self.heading_deg + 180.0) % 360.0 - 180.0)
        return inside & ~(off > self.tolerance_deg)


@dataclass(frozen=True)
class Link:
    """Travel from one camera to another: time window, exit and entry zones."""

    min_s: float
    max_s: float
    exit: Zone | None = None  # in the camera seen first
    entry: Zone | None = None  # in the camera seen next
    evidence: int = 0  # learned: the transitions it was estimated from (0: given)


Topology = dict[tuple[str, str], Link]  # (camera seen first, camera seen next) -> link


def load_topology(path: str | Path) -> Topology:
    """Read a topology YAML (module docstring); raises `InputError` naming the bad entry."""
    try:
        data = safe_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(f"cannot read topology file: {path} ({err.strerror})") from err
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise InputError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list) or set(data) != {"pairs"}:
        raise InputError(f"{path}: expected a mapping with one key 'pairs': a list")
    topology: Topology = {}
    for i, entry in enumerate(pairs):
        where = f"{path}: pairs[{i}]"
        for key, link in _parse_pair(entry, where).items():
            if key in topology:
                raise InputError(f"{where}: travel from {key[0]!r} to {key[1]!r} is listed twice")
            topology[key] = link
    return topology


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_pair(entry: Any, where: str) -> Topology:
    """One `pairs` entry: its link, or its two links when it goes both ways."""
    if not isinstance(entry, dict) or not {"cameras", "min_s", "max_s"} <= set(entry) <= PAIR_KEYS:
        raise InputError(f"{where}: expected the keys cameras, min_s, max_s and optionally "
                         "one_way, exit, entry, transitions")
    cameras, low, high = entry["cameras"], entry["min_s"], entry["max_s"]
    if not (isinstance(cameras, list) and len(cameras) == 2 and cameras[0] != cameras[1]
            and all(isinstance(c, str) for c in cameras)):
        raise InputError(f"{where}: cameras must be a list of two different camera ids")
    if not (_number(low) and _number(high) and low <= high):
        raise InputError(f"{where}: min_s and max_s must be numbers with min_s <= max_s")
    zones = {k: _parse_zone(entry[k], f"{where}: {k}") for k in ("exit", "entry") if k in entry}
    one_way = entry.get("one_way", bool(zones))
    if not isinstance(one_way, bool) or (zones and not one_way):
        raise InputError(f"{where}: one_way must be true or false (true with exit / entry zones)")
    evidence = entry.get("transitions", 0)
    if not isinstance(evidence, int) or isinstance(evidence, bool) or evidence < 0:
        raise InputError(f"{where}: transitions must be a whole number >= 0")
    link = Link(float(low), float(high), zones.get("exit"), zones.get("entry"), evidence)
    a, b = cameras
    return {(a, b): link} if one_way else {(a, b): link, (b, a): link}


def _parse_zone(zone: Any, where: str) -> Zone:
    if not isinstance(zone, dict) or not {"box"} <= set(zone) <= ZONE_KEYS:
        raise InputError(f"{where}: expected the keys box and optionally heading_deg, "
                         "tolerance_deg")
    box = zone["box"]
    if not (isinstance(box, list) and len(box) == 4 and all(map(_number, box))
            and box[0] < box[2] and box[1] < box[3]):
        raise InputError(f"{where}: box must be [x1, y1, x2, y2] pixels with x1 < x2, y1 < y2")
    heading, tolerance = zone.get("heading_deg"), zone.get("tolerance_deg", 45.0)
    if not (heading is None or _number(heading)) or not (_number(tolerance)
                                                         and 0 < tolerance <= 180):
        raise InputError(f"{where}: heading_deg must be a number, tolerance_deg in (0, 180]")
    return Zone(tuple(float(v) for v in box), None if heading is None else float(heading),
                float(tolerance))


def topology_mapping(topology: Topology) -> dict[str, Any]:
    """`topology` as YAML data that `load_topology` reads back (one one-way entry per link)."""

    def zone(z: Zone) -> dict[str, Any]:
        x1, y1, x2, y2 = z.box
        out: dict[str, Any] = {"box": [int(np.floor(x1)), int(np.floor(y1)), int(np.ceil(x2)),
                                       int(np.ceil(y2))]}
        if z.heading_deg is not None:
            out |= {"heading_deg": round(z.heading_deg), "tolerance_deg": round(z.tolerance_deg)}
        return out

    pairs = []
    for (a, b), link in sorted(topology.items()):
        entry: dict[str, Any] = {"cameras": [a, b], "one_way": True,
                                 "min_s": float(np.floor(link.min_s * 10) / 10),
                                 "max_s": float(np.ceil(link.max_s * 10) / 10)}
        entry |= {k: zone(z) for k, z in (("exit", link.exit), ("entry", link.entry)) if z}
        if link.evidence:
            entry["transitions"] = link.evidence
        pairs.append(entry)
    return {"pairs": pairs}


@dataclass(frozen=True)
class LinkLearning:
    """How `learn_topology` turns transitions into links (the ``matching.link_*`` settings)."""

    min_transitions: int  # a camera pair needs this many consistent transitions
    margin_s: float  # added to both ends of the travel-time window
    margin: float  # added around the exit and entry boxes, as a share of the view (1: all)
    confidence: float = 0.5  # the window is this upper confidence bound on their range
    spread: float = 3.0  # inlier headings lie within this many robust deviations of the mean


# wrong pairs: headings further than this many degrees (at least) times `spread` from the mean
# (so that tight clusters keep their inliers), travel times this far (and further than chance
# would put them: `_bulk`) from the bulk. Exit / entry points far from the others are not: the
# slowest and fastest vehicles leave and enter where others do not, and dropping them cut the
# windows short (docs/association.md, "Without the exit / entry isolation test")
HEADING_FLOOR_DEG = 20.0
GAP_JUMP_S = 3.0
END_RUN = 3  # travel times apart from the rest at an end of the window: fewer are wrong pairs
HEADING_MARGIN_DEG, MIN_TOLERANCE_DEG = 15.0, 45.0  # a learned zone's heading tolerance


def learn_topology(table: Table, first: np.ndarray, second: np.ndarray,
                   rules: LinkLearning) -> Topology:
    """Links from transitions: the vehicle of row ``first[k]`` of `table` seen, then that of
    ``second[k]``.

    Per ordered camera pair, transitions whose heading at either end lies far from the mean,
    or whose travel time lies outside the bulk (`_bulk`), are dropped as wrong pairs; with at least
    ``min_transitions`` left, the link's window is the estimated range of their travel times
    (`_support`) plus ``margin_s`` at each end, and its zones the boxes around their exit /
    entry points, each widened by the margin and by the mean spacing of the points (so a zone
    from few transitions is wider), headed at the circular mean with a tolerance covering them.
    """
    topology: Topology = {}
    n, gaps = len(table.camera_ids), table.time_gaps(first, second)
    exit_xy, entry_xy = table.exit_xy, table.entry_xy
    exit_heading, entry_heading = table.exit_heading, table.entry_heading
    pair = table.cameras[first] * n + table.cameras[second]
    for code in np.unique(pair):
        k = np.flatnonzero(pair == code)
        a, b = first[k], second[k]
        keep = (_near_angle(exit_heading[a], rules.spread)
                & _near_angle(entry_heading[b], rules.spread))
        keep[keep] = _bulk(gaps[k][keep])
        if keep.sum() < rules.min_transitions:
            continue
        low, high = _support(gaps[k][keep], rules.confidence)
        link = Link(low - rules.margin_s, high + rules.margin_s,
                    _zone(exit_xy[a[keep]], exit_heading[a[keep]], rules.margin,
                          table.view_wh[code // n]),
                    _zone(entry_xy[b[keep]], entry_heading[b[keep]], rules.margin,
                          table.view_wh[code % n]),
                    int(keep.sum()))
        topology[(table.camera_ids[code // n], table.camera_ids[code % n])] = link
    return topology


def _bulk(gaps: np.ndarray) -> np.ndarray:
    """Mask of the travel times in the bulk. The sorted times split into runs at every step
    longer than `GAP_JUMP_S` and than the longest step n - 1 spacings of a uniform sample reach
    with 95 % probability (exponential spacings of mean ``median step / ln 2``: ``mean *
    (ln(n - 1) + ln 20)``). A wrong pair's travel time falls anywhere, so it lies apart: a run
    of one is dropped wherever it lies, and a run of fewer than `END_RUN` at either end (two
    wrong pairs close together would stretch the window) while a larger run remains. A larger
    group of right ones apart from the rest (the confident pairs leave holes in the true
    spread) stays."""
    if len(gaps) < 3:
        return np.ones(len(gaps), bool)
    order = np.argsort(gaps, kind="stable")
    steps = np.diff(gaps[order])
    longest = float(np.median(steps)) / np.log(2.0) * (np.log(len(steps)) + np.log(20.0))
    run = np.r_[0, np.cumsum(steps > max(GAP_JUMP_S, longest))]  # run number of each time
    size = np.bincount(run)
    lo, hi = 0, len(size) - 1
    while lo < hi and size[lo] < END_RUN and size[lo + 1 :].max() >= END_RUN:
        lo += 1
    while hi > lo and size[hi] < END_RUN and size[lo:hi].max() >= END_RUN:
        hi -= 1
    keep = np.zeros(len(gaps), bool)
    keep[order] = (size[run] > 1) & (run >= lo) & (run <= hi)
    return keep


def _support(gaps: np.ndarray, confidence: float) -> tuple[float, float]:
    """The range of the travel times: a `confidence` upper bound on the width W of a uniform
    distribution's support, centred on the sample. The range R of n uniform samples over W is
    Beta(n - 1, 2) distributed, so W <= R / q with q its (1 - confidence) quantile; each end of
    the sample moves out by (W - R) / 2: wide for few transitions, a small share of R for many
    (0.5: 0.5 R at n = 3, 0.045 R at n = 20, about the minimum-variance unbiased estimate
    min / max -+ R / (n - 1); 0.75: R and 0.07 R)."""
    low, high, n = float(gaps.min()), float(gaps.max()), len(gaps)
    pad = ((high - low) / float(beta.ppf(1.0 - confidence, n - 1, 2)) - (high - low)) / 2.0
    return low - pad, high + pad


def _near_angle(degrees: np.ndarray, spread: float) -> np.ndarray:
    """Mask of the headings within `spread` robust deviations (at least `HEADING_FLOOR_DEG`)
    of their circular mean (an unknown, NaN heading is near)."""
    known = ~np.isnan(degrees)
    if not known.any():
        return np.ones(len(degrees), bool)
    off = _angle_off(degrees, _circular_mean(degrees[known]))
    deviation = max(1.4826 * np.median(off[known]), HEADING_FLOOR_DEG)
    return ~(off > spread * deviation)


def _circular_mean(degrees: np.ndarray) -> float:
    return float(np.degrees(np.angle(np.exp(1j * np.radians(degrees)).mean())))


def _angle_off(degrees: np.ndarray, centre: float) -> np.ndarray:
    """Absolute angular distance in degrees (NaN stays NaN)."""
    return np.abs((degrees - centre + 180.0) % 360.0 - 180.0)


def _zone(xy: np.ndarray, heading: np.ndarray, margin: float, view_wh: np.ndarray) -> Zone:
    """The box around `xy`, widened by `margin` times the view size (`view_wh`) and by the
    mean spacing of the points (what so few points likely missed), clipped to the view; headed
    at the circular mean of the known headings with a tolerance covering them."""
    spacing = (xy.max(axis=0) - xy.min(axis=0)) / max(len(xy) - 1, 1)
    low = np.maximum(xy.min(axis=0) - margin * view_wh - spacing, 0.0)
    high = np.minimum(xy.max(axis=0) + margin * view_wh + spacing, view_wh)
    known = heading[~np.isnan(heading)]
    if not len(known):
        return Zone((*low.tolist(), *high.tolist()))
    centre = _circular_mean(known)
    tolerance = min(float(_angle_off(known, centre).max()) + HEADING_MARGIN_DEG, 180.0)
    return Zone((*low.tolist(), *high.tolist()), centre, max(tolerance, MIN_TOLERANCE_DEG))
