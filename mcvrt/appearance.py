"""Appearance: crop detections and embed them; the only pipeline module that uses `reid`.

When to embed (`rows_to_embed`): every `embed_every`-th processed frame, the detections of that
frame in one batch, without the occluded ones (`skip_occluded`); on the frames in between
(`embed_new`) only the new objects, detections overlapping no box of the previous frame. New
objects are embedded even when occluded: the tracker needs them to find a lost track again. The
tracker matches the rest by motion alone. By default
(`AppearanceConfig.embed_period`) the colour histogram embeds every frame and CNN checkpoints,
far costlier on CPU, every 4th.

`--reid auto` routes by condition: each crop's condition (`mcvrt.conditions`, crop thresholds)
picks an expert (`ROUTES`: fog -> SJDL, day and night -> ALSA, the general model), and the
majority over a tracklet's crops is the tracklet's condition and expert. So that tracklets of
different conditions stay comparable, every crop is embedded by both experts, and two tracklets
compare in the expert of the harder of their two conditions (`HarderCondition`): on mixed-condition
UIT val this beat routing alone, averaging both experts' cosines (raw or z-scored) and either
expert alone (reid/MODEL_CARD_SJDL.md, "Condition routing").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from mcvrt.boxes import box_iou, unoccluded
from mcvrt.conditions import CONDITIONS, CROP_THRESHOLDS, ConditionThresholds, classify
from mcvrt.config import AUTO, AppearanceConfig
from mcvrt.errors import InputError
from mcvrt.types import Detections, Tracklet
from reid import Embedder, load_embedder
from reid.embedder import resolve_weights

Embed = Callable[[Sequence[np.ndarray]], np.ndarray]  # BGR crops -> (N, D) float32, unit norm

ROUTES = {"day": "alsa", "night": "alsa", "fog": "sjdl"}  # condition -> expert (the general
EXPERTS = ("alsa", "sjdl")  # ALSA model, the fog model); blocks of routed embeddings, in order
CONDITION_WEIGHT = 0.05  # scale of the one-hot condition tail of routed crop embeddings
NEW_OBJECT_IOU = 0.3  # a box overlapping no previous-frame box this much is a new object


class RoutedEmbedder:
    """Routed experts: crops -> [ALSA / sqrt 2, SJDL / sqrt 2, CONDITION_WEIGHT x one-hot].

    Within a camera (the tracker) two crops compare by the mean of the experts' cosines; across
    cameras `describe_tracklet` and `HarderCondition` compare tracklets in one expert.
    """

    def __init__(self, experts: Mapping[str, Embedder],
                 thresholds: ConditionThresholds = CROP_THRESHOLDS) -> None:
        if set(experts) != set(EXPERTS):
            raise ValueError(f"routing needs the experts {EXPERTS}, got {sorted(experts)}")
        self.experts = [experts[name] for name in EXPERTS]
        self.thresholds = thresholds

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        blocks = [np.asarray(e(crops), np.float32) for e in self.experts]
        tail = np.zeros((len(crops), len(CONDITIONS)), np.float32)
        for i, c in enumerate(crops):
            tail[i, CONDITIONS.index(classify(c, self.thresholds))] = 1.0
        scale = np.float32(np.sqrt((1.0 - CONDITION_WEIGHT**2) / len(blocks)))
        return np.concatenate([scale * b for b in blocks] + [CONDITION_WEIGHT * tail], axis=1,
                              dtype=np.float32)

    def describe(self, embedding: np.ndarray) -> tuple[dict[str, str], np.ndarray]:
        """({"condition", "expert"}, comparison embedding) of a mean routed embedding.

        The condition is the tail's majority; the comparison embedding is the `HarderCondition`
        layout [ALSA, SJDL if not fog, SJDL if fog], each block unit-norm or zero (so the vector's
        norm is sqrt 2 or 1; `HarderCondition` makes each pair's similarity one expert's cosine).
        """
        condition = CONDITIONS[int(np.argmax(embedding[-len(CONDITIONS):]))]
        d_alsa = self.experts[0].dim
        alsa, sjdl = embedding[:d_alsa], embedding[d_alsa : -len(CONDITIONS)]
        alsa, sjdl = alsa / np.linalg.norm(alsa), sjdl / np.linalg.norm(sjdl)
        fog = condition == "fog"
        blocks = (0 * alsa, 0 * sjdl, sjdl) if fog else (alsa, sjdl, 0 * sjdl)
        extra = {"condition": condition, "expert": ROUTES[condition]}
        return extra, np.concatenate(blocks).astype(np.float32)


class HarderCondition:
    """`mcvrt.association.scoring.Compare` for `RoutedEmbedder` tracklets: a pair with a foggy
    tracklet compares in SJDL, any other pair in ALSA (the expert of the pair's harder condition).

    On the layout [A, S_clear, S_fog] of `RoutedEmbedder.describe`, y -> [A, S_fog, S_clear +
    S_fog], so x @ f(y) = A.A' for two non-fog tracklets and the SJDL cosine otherwise.
    """

    def __init__(self, d_alsa: int, d_sjdl: int) -> None:
        self.d_alsa, self.d_sjdl = d_alsa, d_sjdl

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        a, d = self.d_alsa, self.d_sjdl
        alsa, clear, fog = embeddings[:, :a], embeddings[:, a : a + d], embeddings[:, a + d :]
        return np.concatenate([alsa, fog, clear + fog], axis=1)


def _expert_paths(cfg: AppearanceConfig) -> dict[str, str]:
    """{expert: checkpoint path} of `auto`; InputError names a missing one."""
    paths = {"alsa": resolve_weights(cfg.alsa_expert), "sjdl": resolve_weights(cfg.sjdl_expert)}
    for name, path in paths.items():
        if not Path(path).is_file():
            raise InputError(f"--reid auto: {name} expert checkpoint not found: {path} "
                             f"(set appearance.{name}_expert)")
    return paths


def load_embed(cfg: AppearanceConfig) -> Embed:
    """The configured embedder (colour histogram, a reid checkpoint or `auto`), loaded once."""
    if cfg.embedder.weights != AUTO:
        return load_embedder(cfg.embedder)
    return RoutedEmbedder({name: load_embedder(replace(cfg.embedder, weights=path))
                           for name, path in _expert_paths(cfg).items()})


def weight_files(cfg: AppearanceConfig) -> list[str]:
    """The checkpoint files (or names of weight-free embedders) `cfg` embeds with."""
    if cfg.embedder.weights != AUTO:
        return [resolve_weights(cfg.embedder.weights)]
    return [resolve_weights(cfg.alsa_expert), resolve_weights(cfg.sjdl_expert)]


def load_compare(cfg: AppearanceConfig) -> HarderCondition | None:
    """How matching compares tracklets: `HarderCondition` for `auto`, else None (cosine)."""
    if cfg.embedder.weights != AUTO:
        return None
    from reid.checkpoint import read_checkpoint  # torch stays unloaded for the baseline

    paths = _expert_paths(cfg)
    return HarderCondition(*(int(read_checkpoint(paths[n])["embedding_dim"]) for n in EXPERTS))


def describe_tracklet(tracklet: Tracklet, embed: Embed) -> Tracklet:
    """With a `RoutedEmbedder`: the tracklet's condition and expert in `extra`, its embedding in
    the comparison layout. Otherwise (or with no embedded frame) `tracklet` unchanged."""
    if not isinstance(embed, RoutedEmbedder) or not np.any(tracklet.embedding):
        return tracklet
    extra, embedding = embed.describe(tracklet.embedding)
    return replace(tracklet, extra={**tracklet.extra, **extra}, embedding=embedding)


def crop(image: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """The box's pixels, clipped to the image (may be empty)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = np.round(xyxy).astype(int)
    return image[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)]


def embed_detections(
    image: np.ndarray, dets: Detections, embed: Embed, min_crop_px: int = 8,
    rows: np.ndarray | None = None,
) -> Detections:
    """Detections with `embedding` set for `rows` (bool (N,), default all); the other rows and
    crops smaller than `min_crop_px` get an all-zero row (the tracker matches those by motion)."""
    wanted = np.ones(len(dets), bool) if rows is None else np.asarray(rows, bool)
    crops = {i: crop(image, dets.xyxy[i]) for i in np.flatnonzero(wanted)}
    usable = [i for i, c in crops.items() if min(c.shape[:2]) >= min_crop_px]
    vectors = embed([crops[i] for i in usable])
    embedding = np.zeros((len(dets), vectors.shape[1]), np.float32)
    embedding[usable] = vectors
    return replace(dets, embedding=embedding)


def new_objects(xyxy: np.ndarray, previous_xyxy: np.ndarray, max_iou: float = NEW_OBJECT_IOU
                ) -> np.ndarray:
    """(N,) True for boxes whose IoU with every box of the previous frame is below `max_iou`:
    vehicles entering or reappearing, whose track is not yet known to the tracker by motion."""
    if len(previous_xyxy) == 0:
        return np.ones(len(xyxy), bool)
    return box_iou(xyxy, previous_xyxy).max(axis=1, initial=0.0) < max_iou


def rows_to_embed(xyxy: np.ndarray, previous_xyxy: np.ndarray, periodic: bool,
                  cfg: AppearanceConfig) -> np.ndarray:
    """(N,) bool: the detections of a frame to embed (module docstring), given the previous
    frame's boxes and whether this is an `embed_every`-th frame."""
    new = (new_objects(xyxy, previous_xyxy) if cfg.embed_new
           else np.zeros(len(xyxy), bool))
    if not periodic:
        return new
    return unoccluded(xyxy) | new if cfg.skip_occluded else np.ones(len(xyxy), bool)
