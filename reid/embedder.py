"""The embedding interface `mcvrt` uses: BGR uint8 crops in, unit-norm float32 (N, D) out.

`load_embedder(cfg)` returns either the weight-free colour-histogram descriptor (the honest
baseline until a trained checkpoint beats it) or a trained `reid` checkpoint.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from reid.config import require

COLOR_HISTOGRAM = "color-histogram"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SHIPPED = ("alsa", "alsa_night", "sjdl")  # shipped in reid/weights/<name>.pt, named without a path
TRUNK_PREFIX = "imagenet:"  # "imagenet:<trunk>": an untrained ImageNet trunk, pooled (a baseline)
BACKENDS = ("auto", "torch", "openvino")  # how checkpoints run (EmbedderConfig.runtime)


@dataclass(frozen=True)
class EmbedderConfig:
    # a shipped model ("alsa", "sjdl"), a checkpoint path, "color-histogram" or "imagenet:<trunk>"
    weights: str = COLOR_HISTOGRAM
    device: str = "cpu"  # torch device for checkpoints: cpu, cuda, cuda:1 ...
    batch_size: int = 32  # crops per forward pass
    flip: bool = False  # checkpoints: average each crop's embedding with its mirror image's
    # checkpoints: "openvino" (CPU only), "torch", or "auto" = OpenVINO on the CPU when installed
    backend: str = "auto"

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "embedder.batch_size must be >= 1")
        require(self.backend in BACKENDS, f"embedder.backend must be one of {list(BACKENDS)}")
        require(self.backend != "openvino" or self.device == "cpu",
                "embedder.backend openvino runs on the cpu device only")

    @property
    def runtime(self) -> str:
        """The backend that runs: "auto" is OpenVINO on the CPU when installed, else torch."""
        if self.backend != "auto":
            return self.backend
        has_openvino = importlib.util.find_spec("openvino") is not None
        return "openvino" if self.device == "cpu" and has_openvino else "torch"


class Embedder(Protocol):
    """Vehicle crops -> unit-length appearance vectors."""

    name: str
    dim: int

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """BGR uint8 (h, w, 3) crops -> (N, dim) float32 with unit L2 norm; empty -> (0, dim)."""
        ...


class ColorHistogramEmbedder:
    """Weight-free descriptor: HSV colour histograms in horizontal stripes, Hellinger-mapped.

    Each crop is split into `stripes` horizontal bands (roof / body / wheels of a vehicle), and each
    band gets a joint H x S x V histogram. The square root of the normalised histogram makes
    cosine similarity equal the Bhattacharyya coefficient.
    """

    name = COLOR_HISTOGRAM

    def __init__(self, bins: tuple[int, int, int] = (8, 4, 4), stripes: int = 3) -> None:
        self.bins = bins
        self.stripes = stripes
        self.dim = int(np.prod(bins)) * stripes

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(crops), self.dim), np.float32)
        for i, crop in enumerate(crops):
            hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
            bands = np.array_split(hsv, self.stripes, axis=0)
            hists = [
                cv2.calcHist([b], [0, 1, 2], None, list(self.bins), [0, 180, 0, 256, 0, 256])
                .ravel() / max(b.shape[0] * b.shape[1], 1)
                for b in bands
            ]
            vec = np.sqrt(np.concatenate(hists))
            out[i] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        return out


def resolve_weights(weights: str) -> str:
    """A shipped model's name -> its checkpoint file (found from any working directory); any
    other value unchanged."""
    return str(WEIGHTS_DIR / f"{weights}.pt") if weights in SHIPPED else weights


def load_embedder(cfg: EmbedderConfig) -> Embedder:
    """Build the embedder `cfg` names; checkpoints are validated here, before any video work."""
    if cfg.weights == COLOR_HISTOGRAM:
        return ColorHistogramEmbedder()
    # torch stays unloaded for the colour histogram
    from reid.checkpoint import load_checkpoint_embedder, load_trunk_embedder

    if cfg.weights.startswith(TRUNK_PREFIX):
        arch = cfg.weights.removeprefix(TRUNK_PREFIX)
        return load_trunk_embedder(arch, cfg.device, cfg.batch_size, cfg.flip,
                                   backend=cfg.runtime)
    weights = resolve_weights(cfg.weights)
    return load_checkpoint_embedder(weights, cfg.device, cfg.batch_size, cfg.flip, cfg.runtime)
