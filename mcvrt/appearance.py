"""Appearance: crop detections and embed them; the only pipeline module that uses `reid`.

When to embed (`rows_to_embed`): every `embed_every`-th processed frame, the detections of that
frame in one batch, without the occluded ones (`skip_occluded`); on the frames in between
(`embed_new`) only the new objects, detections overlapping no box of the previous frame. New
objects are embedded even when occluded: the tracker needs them to find a lost track again. The
tracker matches the rest by motion alone. By default
(`AppearanceConfig.embed_period`) the colour histogram embeds every frame and CNN checkpoints,
far costlier on CPU, every 4th.

`--reid auto` compares by condition: each camera's condition (the majority of its tracklets',
each the majority of its frames' `mcvrt.conditions` estimate) picks an expert (`routes`: day ->
ALSA, night -> ALSA trained on night street-camera pictures, fog -> ALSA or SJDL), and two tracklets
compare in the expert of the harder of their cameras' conditions (`HarderCondition`). So that
tracklets of different conditions stay comparable, every crop is embedded by every expert. On
mixed-condition UIT val the harder condition's expert beat routing alone and averaging the
experts' cosines (reid/MODEL_CARD_SJDL.md, "Condition routing"); by camera rather than by
tracklet, because a dark car in a day camera is not a night picture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from mcvrt.association.table import Table
from mcvrt.boxes import box_iou, unoccluded
from mcvrt.conditions import CONDITIONS, CROP_THRESHOLDS, ConditionThresholds, classify
from mcvrt.config import AUTO, AppearanceConfig
from mcvrt.errors import InputError
from mcvrt.types import Detections, Tracklet
from reid import Embedder, load_embedder
from reid.embedder import resolve_weights

Embed = Callable[[Sequence[np.ndarray]], np.ndarray]  # BGR crops -> (N, D) float32, unit norm

HARDNESS = ("day", "night", "fog")  # easiest first: a pair compares in its harder one's expert
CONDITION_WEIGHT = 0.05  # scale of the one-hot condition tail of routed crop embeddings
NEW_OBJECT_IOU = 0.3  # a box overlapping no previous-frame box this much is a new object


_KEYS = {"day": "alsa_expert", "night": "night_expert", "fog": "sjdl_expert"}  # appearance.*


def routes(cfg: AppearanceConfig) -> dict[str, str]:
    """{condition: expert (a shipped name or a checkpoint path)} of `--reid auto`."""
    return {condition: getattr(cfg, key) for condition, key in _KEYS.items()}


def _experts(route: Mapping[str, str]) -> tuple[str, ...]:
    """The distinct experts of `route`, in `HARDNESS` order: the blocks of routed embeddings."""
    return tuple(dict.fromkeys(route[condition] for condition in HARDNESS))


def split_blocks(embeddings: np.ndarray, dims: Sequence[int]) -> list[np.ndarray]:
    """(N, sum dims) -> one (N, dim) block per expert, each row scaled to unit norm (zero rows
    stay zero)."""
    blocks = np.split(embeddings, np.cumsum(dims)[:-1], axis=1)
    return [b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), np.finfo(np.float32).tiny)
            for b in blocks]


class RoutedEmbedder:
    """Routed experts: crops -> [each distinct expert / sqrt n, CONDITION_WEIGHT x one-hot].

    Within a camera (the tracker) two crops compare by the mean of the experts' cosines; across
    cameras `describe_tracklet` and `HarderCondition` compare tracklets in one expert.
    """

    def __init__(self, experts: Mapping[str, Embedder], route: Mapping[str, str],
                 thresholds: ConditionThresholds = CROP_THRESHOLDS) -> None:
        if set(route) != set(CONDITIONS) or not set(route.values()) <= set(experts):
            raise ValueError(f"routing needs an expert for each of {CONDITIONS}: got routes "
                             f"{dict(route)} and experts {sorted(experts)}")
        self.experts = [experts[name] for name in _experts(route)]
        self.thresholds = thresholds

    def __call__(self, crops: Sequence[np.ndarray], condition: str | None = None) -> np.ndarray:
        """`condition`: the frame's, for every crop (the pipeline's); None: each crop's own."""
        blocks = [np.asarray(e(crops), np.float32) for e in self.experts]
        tail = np.zeros((len(crops), len(CONDITIONS)), np.float32)
        for i, c in enumerate(crops):
            tail[i, CONDITIONS.index(condition or classify(c, self.thresholds))] = 1.0
        scale = np.float32(np.sqrt((1.0 - CONDITION_WEIGHT**2) / len(blocks)))
        return np.concatenate([scale * b for b in blocks] + [CONDITION_WEIGHT * tail], axis=1,
                              dtype=np.float32)

    def describe(self, embedding: np.ndarray) -> tuple[dict[str, str], np.ndarray]:
        """({"condition"}, tracklet embedding) of a mean routed embedding.

        The condition is the tail's majority. The tracklet embedding is the experts' blocks, each
        unit-norm, over sqrt n: a unit vector whose plain cosine is the mean of the experts'
        (as in the tracker); `HarderCondition` compares two tracklets in one expert.
        """
        condition = CONDITIONS[int(np.argmax(embedding[-len(CONDITIONS):]))]
        blocks = split_blocks(embedding[None, : -len(CONDITIONS)], [e.dim for e in self.experts])
        joined = np.concatenate(blocks, axis=1)[0] / np.sqrt(len(blocks))
        return {"condition": condition}, joined.astype(np.float32)


class HarderCondition:
    """`mcvrt.association.scoring.Compare` for `RoutedEmbedder` tracklets: each pair's
    similarity is the cosine of the expert of the harder of its cameras' conditions
    (`HARDNESS`, `camera_levels`), from the rows' blocks after any centring.

    For levels j (index in `HARDNESS`) and X_j the row's block of level j's expert, left rows
    are [X_j if level < j, X_j if level == j]_j and right rows [X_j if level == j, X_j if level
    <= j]_j: left_x @ right_y sums X_j(x) @ X_j(y) over the one j = max(level x, level y).
    Linear in each side, so average-linkage sums stay exact.
    """

    def __init__(self, route: Mapping[str, str], dims: Mapping[str, int]) -> None:
        self.experts = _experts(route)
        self.dims = [dims[name] for name in self.experts]
        self.block_of_level = [self.experts.index(route[condition]) for condition in HARDNESS]

    def __call__(self, embeddings: np.ndarray, table: Table) -> tuple[np.ndarray, np.ndarray]:
        level = camera_levels(table)[:, None]
        blocks = split_blocks(embeddings, self.dims)
        left, right = [], []
        for j, block in enumerate(self.block_of_level):
            x = blocks[block]
            left += [x * (level < j), x * (level == j)]
            right += [x * (level == j), x * (level <= j)]
        return (np.concatenate(left, axis=1, dtype=np.float32),
                np.concatenate(right, axis=1, dtype=np.float32))


def camera_levels(table: Table) -> np.ndarray:
    """(N,) per row, the `HARDNESS` index of its camera's condition: the most common condition
    of the camera's embedded tracklets (ties: the harder; none: day). A dark car in a day
    camera compares as a day tracklet, a lit one in a night camera as a night one."""
    counts = np.zeros((len(table.camera_ids), len(HARDNESS)), np.int64)
    for tracklet, camera, has in zip(table.tracklets, table.cameras, table.has_embedding,
                                     strict=True):
        if has and tracklet.extra.get("condition") in HARDNESS:
            counts[camera, HARDNESS.index(tracklet.extra["condition"])] += 1
    level = len(HARDNESS) - 1 - np.argmax(counts[:, ::-1], axis=1)  # ties: the harder
    return np.where(counts.any(axis=1), level, 0)[table.cameras]


def _expert_paths(cfg: AppearanceConfig) -> dict[str, str]:
    """{expert: checkpoint path} of `auto`; InputError names a missing one."""
    paths = {name: resolve_weights(name) for name in _experts(routes(cfg))}
    for condition, name in routes(cfg).items():
        if not Path(paths[name]).is_file():
            raise InputError(f"--reid auto: {condition} expert checkpoint not found: "
                             f"{paths[name]} (set appearance.{_KEYS[condition]})")
    return paths


def load_embed(cfg: AppearanceConfig) -> Embed:
    """The configured embedder (colour histogram, a reid checkpoint or `auto`), loaded once."""
    if cfg.embedder.weights != AUTO:
        return load_embedder(cfg.embedder)
    experts = {name: load_embedder(replace(cfg.embedder, weights=path))
               for name, path in _expert_paths(cfg).items()}
    return RoutedEmbedder(experts, routes(cfg))


def weight_files(cfg: AppearanceConfig) -> list[str]:
    """The checkpoint files (or names of weight-free embedders) `cfg` embeds with."""
    if cfg.embedder.weights != AUTO:
        return [resolve_weights(cfg.embedder.weights)]
    return [resolve_weights(name) for name in _experts(routes(cfg))]


def wants_foggy_crops(cfg: AppearanceConfig) -> bool:
    """Whether crops of foggy frames must reach the embedder as seen, not dehazed: with `auto`
    when the fog expert is an SJDL checkpoint, trained on foggy crops."""
    if cfg.embedder.weights != AUTO:
        return False
    from reid.checkpoint import read_checkpoint  # torch stays unloaded for the baseline

    return read_checkpoint(_expert_paths(cfg)[cfg.sjdl_expert])["method"] == "sjdl"


def load_compare(cfg: AppearanceConfig) -> HarderCondition | None:
    """How matching compares tracklets: `HarderCondition` for `auto`, else None (cosine)."""
    if cfg.embedder.weights != AUTO:
        return None
    from reid.checkpoint import read_checkpoint  # torch stays unloaded for the baseline

    dims = {name: int(read_checkpoint(path)["embedding_dim"])
            for name, path in _expert_paths(cfg).items()}
    return HarderCondition(routes(cfg), dims)


def describe_tracklet(tracklet: Tracklet, embed: Embed) -> Tracklet:
    """With a `RoutedEmbedder`: the tracklet's condition in `extra`, its embedding as the
    experts' blocks (`RoutedEmbedder.describe`). Otherwise (or with no embedded frame)
    `tracklet` unchanged."""
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
    rows: np.ndarray | None = None, condition: str | None = None,
) -> Detections:
    """Detections with `embedding` set for `rows` (bool (N,), default all); the other rows and
    crops smaller than `min_crop_px` get an all-zero row (the tracker matches those by motion).
    `condition`, the frame's, labels the crops of a `RoutedEmbedder` (None: each crop's own)."""
    wanted = np.ones(len(dets), bool) if rows is None else np.asarray(rows, bool)
    crops = {i: crop(image, dets.xyxy[i]) for i in np.flatnonzero(wanted)}
    usable = [i for i, c in crops.items() if min(c.shape[:2]) >= min_crop_px]
    chosen = [crops[i] for i in usable]
    vectors = embed(chosen, condition) if isinstance(embed, RoutedEmbedder) else embed(chosen)
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
