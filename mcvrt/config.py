"""Pipeline configuration: `configs/default.yaml` loaded into frozen dataclasses.

Each component receives only its own section. Unknown keys and out-of-range values raise
`ConfigError` with the dotted key; CLI flags are applied with `dataclasses.replace`, so they
pass through the same checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reid.config import from_mapping, load_yaml, require
from reid.config import safe_yaml as safe_yaml  # mcvrt's other YAML readers use it
from reid.embedder import COLOR_HISTOGRAM, EmbedderConfig

COCO_VEHICLES = (2, 3, 5, 7)  # car, motorcycle, bus, truck
AUTO = "auto"  # appearance.embedder.weights: route each crop to a condition expert
RUNNERS = ("local", "processes", "ray")  # input.runner: how cameras execute (mcvrt.runners)


@dataclass(frozen=True)
class InputConfig:
    max_frames: int | None = None  # decode at most this many frames per camera (None = all)
    stride: int = 1  # process every stride-th frame
    # camera worker processes; 0 = one per camera up to the CPU cores, 2 cores a camera with a
    # learned embedder (1 on CUDA)
    workers: int = 0
    runner: str = "processes"  # how cameras execute: local, processes (`workers`) or ray (`ray`)

    def __post_init__(self) -> None:
        require(self.max_frames is None or self.max_frames >= 1, "input.max_frames must be >= 1")
        require(self.stride >= 1, "input.stride must be >= 1")
        require(self.workers >= 0, "input.workers must be >= 0")
        require(self.runner in RUNNERS, f"input.runner must be one of {', '.join(RUNNERS)}")


@dataclass(frozen=True)
class RayConfig:
    """Where and with what resources `input.runner: ray` tracks cameras."""

    address: str | None = None  # None: a new Ray instance on this machine; "auto" or HOST:PORT
    cpus_per_camera: float = 1.0  # Ray CPUs each camera worker (actor) holds
    gpus_per_camera: float = 0.0  # GPU fraction each camera worker holds (detector.device cuda)
    resources: dict[str, float] = field(default_factory=dict)  # custom Ray resources per worker
    workers: int = 0  # camera workers (actors); 0 = as many as the cluster's resources fit

    def __post_init__(self) -> None:
        require(self.cpus_per_camera > 0, "ray.cpus_per_camera must be > 0")
        require(self.gpus_per_camera >= 0, "ray.gpus_per_camera must be >= 0")
        require(all(v > 0 for v in self.resources.values()), "ray.resources values must be > 0")
        require(self.workers >= 0, "ray.workers must be >= 0")


@dataclass(frozen=True)
class DetectorConfig:
    # model name (downloaded online), .pt/.onnx file or *_openvino_model dir
    weights: str = "yolo11n.pt"
    classes: tuple[int, ...] = COCO_VEHICLES
    confidence: float = 0.25
    nms_iou: float = 0.5
    agnostic_nms: bool = True  # suppress overlaps across classes too (kept box: their union)
    image_size: int = 640
    upscale: float = 1.0  # > 1: also detect overlapping tiles enlarged this much (small vehicles)
    device: str = "cpu"
    night_confidence: float | None = 0.15  # threshold on frames estimated night (None = confidence)
    fog_confidence: float | None = 0.15  # threshold on frames estimated foggy (None = confidence)
    # night frames: detections from this confidence up to the night threshold only continue
    # tracks, matched after the others (ByteTrack's low-score boxes); None = off
    night_track_confidence: float | None = 0.1
    # night frames, per COCO class id: its own night_confidence / night_track_confidence
    night_class_confidence: dict[int, float] = field(default_factory=dict)
    night_class_track_confidence: dict[int, float] = field(default_factory=dict)
    # also detect persons and bicycles; a rider merges into its two-wheeler
    merge_riders: bool = True
    rider_support_confidence: float = 0.01  # a two-wheeler box this confident merges with its rider

    def __post_init__(self) -> None:
        for key in ("confidence", "night_confidence", "fog_confidence", "night_track_confidence",
                    "rider_support_confidence"):
            value = getattr(self, key)
            require(value is None or 0.0 <= value < 1.0, f"detector.{key} must be in [0, 1)")
        for key in ("night_class_confidence", "night_class_track_confidence"):
            require(all(0.0 <= v < 1.0 for v in getattr(self, key).values()),
                    f"detector.{key} values must be in [0, 1)")
        require(0.0 < self.nms_iou <= 1.0, "detector.nms_iou must be in (0, 1]")
        require(self.image_size >= 32 and self.image_size % 32 == 0,
                "detector.image_size must be a multiple of 32")
        require(len(self.classes) > 0, "detector.classes must not be empty")
        require(1.0 <= self.upscale <= 4.0, "detector.upscale must be in [1, 4]")

    def confidence_for(self, condition: str, class_id: int | None = None) -> float:
        """The confidence threshold for a frame of `condition` (day / night / fog), or for a
        detection of `class_id` on it."""
        if condition == "night" and class_id in self.night_class_confidence:
            return self.night_class_confidence[class_id]
        value = {"night": self.night_confidence, "fog": self.fog_confidence}.get(condition)
        return self.confidence if value is None else value

    def track_confidence_for(self, condition: str, class_id: int | None = None) -> float:
        """The least confidence of a detection (of `class_id`) that may continue a track on a
        `condition` frame: its night track confidence at night (when lower), else the
        threshold."""
        threshold = self.confidence_for(condition, class_id)
        floor = self.night_class_track_confidence.get(class_id, self.night_track_confidence)
        if condition == "night" and floor is not None:
            return min(threshold, floor)
        return threshold


ENHANCERS = {"night": ("none", "gamma", "clahe", "alsa"), "fog": ("none", "dcp", "sjdl"),
             "night_denoise": ("none", "gaussian", "median", "bilateral", "nlmeans", "temporal")}


@dataclass(frozen=True)
class EnhanceConfig:
    night: str = "clahe"  # pre-processing of frames estimated night: none, gamma, clahe, alsa
    night_denoise: str = "median"  # before it: none, gaussian, median, bilateral, nlmeans, temporal
    fog: str = "dcp"  # pre-processing of frames estimated foggy: none, dcp, sjdl
    alsa_weights: Path | None = None  # ALSA enhancement-network file (reid.enlighten), for alsa
    sjdl_weights: Path | None = None  # SJDL checkpoint whose defogging branch runs, for sjdl
    device: str = "cpu"  # torch device of the learned enhancers
    embed_enhanced: bool = True  # foggy frames' ReID crops from the dehazed frame (not "auto")
    condition_every: int = 1  # estimate the frame condition on every k-th frame, kept between

    def __post_init__(self) -> None:
        for key, allowed in ENHANCERS.items():
            require(getattr(self, key) in allowed,
                    f"enhance.{key} must be one of {', '.join(allowed)}")
        require(self.condition_every >= 1, "enhance.condition_every must be >= 1")
        require(self.night != "alsa" or self.alsa_weights is not None,
                "enhance.night: alsa needs enhance.alsa_weights")
        require(self.fog != "sjdl" or self.sjdl_weights is not None,
                "enhance.fog: sjdl needs enhance.sjdl_weights")


@dataclass(frozen=True)
class AppearanceConfig:
    # weights: a shipped model name, a checkpoint, "auto", "color-histogram" or "imagenet:<trunk>"
    embedder: EmbedderConfig = field(default_factory=lambda: EmbedderConfig(weights="alsa_night"))
    alsa_expert: str = "alsa"  # with weights "auto": the day expert (a shipped name or a path)
    night_expert: str = "alsa_night"  # with weights "auto": the night expert (name or path)
    # with weights "auto": the fog expert (name or path); ALSA on dehazed crops beat SJDL on the
    # evaluation set's fog (docs/reid.md, "A night expert in --reid auto")
    sjdl_expert: str = "alsa"
    embed_every: int | None = None  # embed on every k-th processed frame (None: `embed_period`)
    embed_new: bool = True  # in between, also embed detections new since the previous frame
    skip_occluded: bool = True  # on k-th frames, leave out crops another box covers (> 20 %)
    min_crop_px: int = 8  # crops smaller than this (either side) are not embedded

    def __post_init__(self) -> None:
        require(self.embed_every is None or self.embed_every >= 1,
                "appearance.embed_every must be >= 1 (or null)")
        require(self.min_crop_px >= 1, "appearance.min_crop_px must be >= 1")

    @property
    def learned(self) -> bool:
        """Whether crops go through a network (a checkpoint, `auto`, an ImageNet trunk)."""
        return self.embedder.weights != COLOR_HISTOGRAM

    @property
    def embed_period(self) -> int:
        """`embed_every`, or by default 1 for the colour histogram and 4 for CNN checkpoints.

        Measured (docs/performance.md, B7; docs/conditions.md): every 4th frame + new objects cost
        the ALSA checkpoint no IDF1 on the day scene at 1.34x the speed, but cost the colour
        histogram up to 0.03 cross-camera IDF1 on the night scene for no measurable speed.
        """
        if self.embed_every is not None:
            return self.embed_every
        return 4 if self.learned else 1


@dataclass(frozen=True)
class TrackerConfig:
    max_age: int = 30  # processed frames a confirmed track may go unmatched before deletion
    n_init: int = 3  # consecutive hits before a track is confirmed
    max_cosine_distance: float = 0.3  # appearance gate in the matching cascade
    max_iou_distance: float = 0.7  # gate (1 - IoU) for the IoU stage
    gating_chi2: float = 9.4877  # Mahalanobis gate: chi-square 0.95 quantile, 4 dof
    gallery_size: int = 50  # appearance features kept per track
    weak_min_iou: float = 0.5  # IoU a weak detection needs with the track it continues
    report_first_hits: bool = True  # a track's n_init - 1 hits before confirmation are output too

    def __post_init__(self) -> None:
        require(self.max_age >= 1, "tracker.max_age must be >= 1")
        require(0 < self.weak_min_iou <= 1, "tracker.weak_min_iou must be in (0, 1]")
        require(self.n_init >= 1, "tracker.n_init must be >= 1")
        require(0 < self.max_cosine_distance <= 2, "tracker.max_cosine_distance must be in (0, 2]")
        require(0 < self.max_iou_distance <= 1, "tracker.max_iou_distance must be in (0, 1]")
        require(self.gating_chi2 > 0, "tracker.gating_chi2 must be > 0")
        require(self.gallery_size >= 1, "tracker.gallery_size must be >= 1")


@dataclass(frozen=True)
class MatchingConfig:
    # edge score (cosine similarity) needed for a cross-camera link; None: `threshold` decides
    min_similarity: float | None = None
    # largest plausible gap between leaving one camera and entering another
    max_transition_s: float = 120.0
    min_tracklet_frames: int = 5  # shorter tracklets keep their own global id and are not matched
    # travel times from each tracklet end carried to the view border along its end velocity, at
    # most this many seconds an end (0: from the tracklets' first / last boxes)
    view_lead_s: float = 2.0
    topology: Path | None = None  # optional YAML of per-camera-pair transition windows
    scorer: str | None = None  # edge scorer registered in mcvrt.association.scoring; None: see
    # `scorer_for`
    rerank: bool = True  # k-reciprocal re-ranking of the scores within the candidate blocks
    rerank_k1: int = 10  # neighbours of the k-reciprocal sets
    rerank_k2: int = 3  # neighbours averaged in the local query expansion (1 = none)
    rerank_lambda: float = 0.3  # weight of the base score (the rest: Jaccard of neighbour sets)
    link_rounds: int = 2  # rounds of matching with a camera-link model learned from the run
    link_min_similarity: float = 0.85  # confident pairs (mutual best) the model starts from
    link_min_transitions: int = 3  # a camera pair needs this many consistent transitions
    link_margin_s: float = 0.25  # added to both ends of a learned travel-time window
    link_confidence: float = 0.6  # a learned window: upper confidence bound on the travel times
    link_seed_confidence: float = 0.75  # the same for the first round's windows (confident pairs
    # alone): wider, so that round finds the transitions just outside the pairs' range
    link_margin: float = 1.0  # added around learned exit / entry boxes: share of the view size
    fragments: bool = True  # re-link fragments of one vehicle within a camera first
    fragment_max_gap_s: float = 5.0  # longest gap between a fragment's end and the next's start
    fragment_min_similarity: float = 0.8  # least appearance score of two fragments
    fragment_max_shift: float = 1.0  # box heights per second of gap (at least one) the next
    # fragment may begin away from where the earlier one's motion predicts

    def __post_init__(self) -> None:
        require(self.min_similarity is None or -1 <= self.min_similarity <= 1,
                "matching.min_similarity must be in [-1, 1] (or null)")
        require(self.max_transition_s >= 0, "matching.max_transition_s must be >= 0")
        require(self.min_tracklet_frames >= 1, "matching.min_tracklet_frames must be >= 1")
        require(self.view_lead_s >= 0, "matching.view_lead_s must be >= 0")
        require(self.rerank_k1 >= 1, "matching.rerank_k1 must be >= 1")
        require(1 <= self.rerank_k2 <= self.rerank_k1 + 1,
                "matching.rerank_k2 must be in [1, rerank_k1 + 1]")
        require(0 <= self.rerank_lambda <= 1, "matching.rerank_lambda must be in [0, 1]")
        require(self.link_rounds >= 0, "matching.link_rounds must be >= 0")
        require(-1 <= self.link_min_similarity <= 1,
                "matching.link_min_similarity must be in [-1, 1]")
        require(self.link_min_transitions >= 2, "matching.link_min_transitions must be >= 2")
        require(0 < self.link_confidence < 1 and 0 < self.link_seed_confidence < 1,
                "matching.link_confidence and link_seed_confidence must be in (0, 1)")
        require(self.link_margin_s >= 0 and self.link_margin >= 0,
                "matching.link_margin_s and link_margin must be >= 0")
        require(self.fragment_max_gap_s > 0 and self.fragment_max_shift > 0,
                "matching.fragment_max_gap_s and fragment_max_shift must be > 0")
        require(-1 <= self.fragment_min_similarity <= 1,
                "matching.fragment_min_similarity must be in [-1, 1]")

    def threshold(self, embedder_weights: str) -> float:
        """`min_similarity`, or the value measured best on the evaluation set (docs/association.md,
        one value held across its scenes): 0.6 on re-ranked scores (measured with the shipped
        ALSA model and the colour histogram); else 0.85 for the colour histogram, 0.75 for
        checkpoints (measured with the shipped ALSA model)."""
        if self.min_similarity is not None:
            return self.min_similarity
        if self.rerank:
            return 0.6
        return 0.85 if embedder_weights == COLOR_HISTOGRAM else 0.75

    def scorer_for(self, embedder_weights: str) -> str:
        """`scorer`, or the one measured best on the evaluation set (docs/association.md):
        ``cosine`` for the colour histogram, ``centred-cosine`` for checkpoints (measured with the
        shipped ALSA model; centring cost the histogram 0.07 mean cross IDF1)."""
        if self.scorer is not None:
            return self.scorer
        return "cosine" if embedder_weights == COLOR_HISTOGRAM else "centred-cosine"

    def resolved(self, embedder_weights: str) -> MatchingConfig:
        """This config with `min_similarity` and `scorer` set (see `threshold`, `scorer_for`)."""
        return replace(self, min_similarity=self.threshold(embedder_weights),
                       scorer=self.scorer_for(embedder_weights))


@dataclass(frozen=True)
class OutputConfig:
    save_video: bool = False  # write annotated videos (slow: re-encodes every frame)
    gallery: bool = True  # write gallery.png (one crop per camera per global id)
    report: bool = True  # write report.html (summary, camera graph, timeline, identity cards)
    interpolate_max_gap: int = 10  # fill a track's missed frames linearly in gaps up to this many
    # processed frames (0 = off, e.g. for real-time use)

    def __post_init__(self) -> None:
        require(self.interpolate_max_gap >= 0, "output.interpolate_max_gap must be >= 0")


@dataclass(frozen=True)
class PipelineConfig:
    input: InputConfig = field(default_factory=InputConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    enhance: EnhanceConfig = field(default_factory=EnhanceConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


# shipped inside the package (found from any working directory); the checkout's top-level
# configs/ is a link to this folder
CONFIGS = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIGS / "default.yaml"


def load_config(path: str | Path | None = None) -> PipelineConfig:
    """Load a pipeline config; None gives the dataclass defaults (equal to default.yaml)."""
    if path is None:
        return from_mapping(PipelineConfig, {})
    return load_yaml(PipelineConfig, path)


def config_to_mapping(cfg: Any) -> Any:
    """A config dataclass as plain YAML / JSON values (paths as strings, tuples as lists):
    what `config_from_mapping` reads back."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: config_to_mapping(getattr(cfg, f.name))
                for f in dataclasses.fields(cfg) if f.init}
    if isinstance(cfg, (tuple, list)):
        return [config_to_mapping(v) for v in cfg]
    return str(cfg) if isinstance(cfg, Path) else cfg


def config_from_mapping(data: Any) -> PipelineConfig:
    """A pipeline config from nested mappings (unknown keys and bad values raise ConfigError)."""
    return from_mapping(PipelineConfig, data)
