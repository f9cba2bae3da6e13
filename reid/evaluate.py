"""Ranking metrics and evaluation protocols (methods.md §5, §1.9).

Standard protocol per layout (`ReidData.protocol`):
* query-gallery (VeRi, VERI-Wild, FVRID, generic): gallery entries with the query's id *and*
  camera are junk and removed.
* vehicleid-10-trials: per trial one random gallery image per id, the rest are queries; no junk.
* camera-swap (UIT: every identity once per camera): each camera's images query the other
  cameras' images, and the CMC/mAP of the directions are averaged (cam1->cam2, cam2->cam1).
The ALSA-paper-compatible variant (`alsa_*` keys) drops junk removal: query->gallery for the
query-gallery layouts, leave-one-out over the whole test set for the others.

Every metric is computed for each image condition: `original`, `darker` (the paper's: a fixed 10%
of the test images x0.3), `dark` (all x0.3), `low-light` (all through `reid.degrade.low_light`),
`fog` / `fog-real` (all through `reid.fog`'s synthetic generator / its "real" stand-in).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from reid import degrade
from reid.checkpoint import TorchEmbedder
from reid.data.datasets import CAMERA_SWAP, QUERY_GALLERY, ReidData, read_dataset
from reid.data.transforms import darkened_subset
from reid.embedder import Embedder, EmbedderConfig, load_embedder
from reid.errors import ReidError
from reid.fog import REAL_FOG, SYNTHETIC_FOG, fog_bgr

CONDITIONS = ("original", "darker", "dark", "low-light", "fog", "fog-real")
Trial = tuple[np.ndarray, np.ndarray, bool]  # query indices, gallery indices, remove junk


def rank_metrics(
    distmat: np.ndarray,
    q_ids: np.ndarray,
    g_ids: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    max_rank: int = 50,
    remove_junk: bool = True,
) -> tuple[np.ndarray, float]:
    """CMC (max_rank,) and mAP for a (Q, G) distance matrix (smaller = closer; stable ties).

    Junk (when `remove_junk`): gallery items with the query's id and camera. Queries left
    without a correct gallery item are skipped; ReidError if none is left.
    """
    cmc_sum, ap_sum, valid = np.zeros(max_rank), 0.0, 0
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        match = g_ids[order] == q_ids[i]
        if remove_junk:
            match = match[~(match & (g_cams[order] == q_cams[i]))]
        hits = np.flatnonzero(match)
        if hits.size == 0:
            continue
        valid += 1
        cmc_sum[hits[0] :] += 1  # ranks beyond the gallery size keep the final value
        ap_sum += float(np.mean(np.arange(1, hits.size + 1) / (hits + 1)))
    if valid == 0:
        raise ReidError("no query has a correct match in the gallery")
    return cmc_sum / valid, ap_sum / valid


def leave_one_out(
    distmat: np.ndarray, ids: np.ndarray, max_rank: int = 50
) -> tuple[np.ndarray, float]:
    """Recall@k curve and mAP where every item queries all the others (DML / Recall@k code)."""
    own = np.arange(len(ids))  # each item its own "camera": junk removal drops only itself
    return rank_metrics(distmat, ids, ids, own, own, max_rank)


def protocol_trials(data: ReidData, trials: int = 10) -> list[Trial]:
    """The standard protocol's (query, gallery, remove junk) index sets for `data.test`."""
    n = len(data.test)
    if data.protocol == QUERY_GALLERY:
        return [(np.arange(data.num_query), np.arange(data.num_query, n), True)]
    cams = np.array([s.camid for s in data.test])
    if data.protocol == CAMERA_SWAP:
        return [
            (np.flatnonzero(cams == c), np.flatnonzero(cams != c), True) for c in np.unique(cams)
        ]
    ids = np.array([s.pid for s in data.test])
    out = []
    for seed in range(trials):  # VehicleID: one random gallery image per id
        rng = np.random.default_rng(seed)
        gallery = np.array([rng.choice(np.flatnonzero(ids == pid)) for pid in np.unique(ids)])
        out.append((np.setdiff1d(np.arange(n), gallery), gallery, False))
    return out


def _distances(emb: np.ndarray, q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of unit vectors (= 2 - 2 cos; same ranking as cosine)."""
    return 2.0 - 2.0 * emb[q] @ emb[g].T


def score(emb: np.ndarray, data: ReidData) -> dict[str, float]:
    """Standard R1/R5/R10/mAP and the ALSA-compatible alsa_R1/alsa_R5/alsa_mAP for embeddings
    `emb` (N, D) of `data.test`."""
    ids = np.array([s.pid for s in data.test])
    cams = np.array([s.camid for s in data.test])
    trials = protocol_trials(data)
    runs = [
        rank_metrics(_distances(emb, q, g), ids[q], ids[g], cams[q], cams[g], remove_junk=junk)
        for q, g, junk in trials
    ]
    cmc = np.mean([c for c, _ in runs], axis=0)
    out = {"R1": cmc[0], "R5": cmc[4], "R10": cmc[9], "mAP": np.mean([m for _, m in runs])}
    if data.protocol == QUERY_GALLERY:
        q, g, _ = trials[0]
        alsa = rank_metrics(
            _distances(emb, q, g), ids[q], ids[g], cams[q], cams[g], remove_junk=False
        )
    else:
        everything = np.arange(len(ids))
        alsa = leave_one_out(_distances(emb, everything, everything), ids)
    out.update(alsa_R1=alsa[0][0], alsa_R5=alsa[0][4], alsa_mAP=alsa[1])
    return {k: float(v) for k, v in out.items()}


def degrade_images(images: Sequence[np.ndarray], condition: str, seed: int = 0) -> list[np.ndarray]:
    """BGR uint8 test images under `condition` (one of CONDITIONS), reproducibly for a seed."""
    if condition == "original":
        return list(images)
    if condition == "darker":
        mask = darkened_subset(len(images), 0.1, seed)
        return [degrade.darken(im) if m else im for im, m in zip(images, mask, strict=True)]
    if condition == "dark":
        return [degrade.darken(im) for im in images]
    if condition == "low-light":
        rng = np.random.default_rng(seed)
        return [degrade.low_light(im, 0.05, rng) for im in images]
    if condition in ("fog", "fog-real"):
        return fog_bgr(images, SYNTHETIC_FOG if condition == "fog" else REAL_FOG, seed)
    raise ReidError(f"unknown image condition {condition!r}; choose from {list(CONDITIONS)}")


def load_images(data: ReidData) -> list[np.ndarray]:
    """`data.test` as BGR uint8 images at their own size."""
    out = []
    for sample in data.test:
        image = cv2.imread(str(sample.path), cv2.IMREAD_COLOR)
        if image is None:
            raise ReidError(f"cannot read image: {sample.path}")
        out.append(image)
    return out


def evaluate(
    embedder: Embedder | nn.Module,
    data: ReidData,
    conditions: Sequence[str] = ("original", "darker", "dark"),
    images: Sequence[np.ndarray] | None = None,
    input_size: tuple[int, int] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    flip: bool = False,
) -> dict[str, dict[str, float]]:
    """{condition: metrics} for an Embedder (BGR crops in) or a model with `embed` (then
    `input_size` = (height, width) is required; its device is kept; `flip` averages mirror
    images). `images` may pass the preloaded test images."""
    if isinstance(embedder, nn.Module):
        if input_size is None:
            raise ValueError("evaluating a model needs its input_size")
        device = str(next(embedder.parameters()).device)
        embedder = TorchEmbedder(embedder, input_size, device=device, batch_size=batch_size,
                                 flip=flip)
    images = list(images) if images is not None else load_images(data)
    return {c: score(embedder(degrade_images(images, c, seed)), data) for c in conditions}


def eval_reid(
    checkpoint: str | Path,
    data_dir: str | Path,
    layout: str | None = None,
    test_split: str | None = None,
    conditions: Sequence[str] = ("original", "darker", "dark"),
    device: str = "cpu",
    batch_size: int = 64,
    flip: bool = False,
) -> dict[str, dict[str, float]]:
    """{condition: metrics} of a checkpoint, or of "color-histogram", on `data_dir`'s test set."""
    for c in conditions:
        if c not in CONDITIONS:
            raise ReidError(f"unknown image condition {c!r}; choose from {list(CONDITIONS)}")
    data = read_dataset(data_dir, layout, test_split)
    if not data.test:
        raise ReidError(f"{data_dir}: no test images (layout {data.layout!r})")
    embedder = load_embedder(
        EmbedderConfig(weights=str(checkpoint), device=device, batch_size=batch_size, flip=flip)
    )
    return evaluate(embedder, data, conditions)


def format_table(
    rows: dict[str, dict[str, dict[str, float]]], metrics: Sequence[str] = ("R1", "R5", "mAP")
) -> str:
    """Markdown table, one row per model name: {model: {condition: metrics}} -> text (in %)."""
    conditions = list(next(iter(rows.values())))
    head = ["model"] + [f"{c} {m}" for c in conditions for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, result in rows.items():
        cells = [f"{100 * result[c][m]:.1f}" for c in conditions for m in metrics]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)
