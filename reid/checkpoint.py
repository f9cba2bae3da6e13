"""Checkpoints that carry their model config, and the `Embedder` built from one.

A checkpoint is a `torch.save`d dict: `format`, `method`, `config` (the ModelConfig as plain data),
`embedding_dim`, `num_ids`, `input_size` (height, width), `epoch`, `metrics`, `state_dict`, plus
training state (`optimizer`, `scheduler`, `train_config`) in the files the trainer writes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from reid.config import from_mapping
from reid.errors import CheckpointError, ConfigError
from reid.models import MODELS, ModelConfig, build_model
from reid.models.trunks import IMAGENET, PooledTrunk, build_trunk

FORMAT = "mcvrt-reid/1"
REQUIRED = ("method", "config", "embedding_dim", "num_ids", "input_size", "state_dict")


def plain(value: Any) -> Any:
    """Dataclasses, Paths and tuples -> dicts, strings and lists (safe for `weights_only` loads)."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def save_checkpoint(path: str | Path, blob: dict[str, Any]) -> Path:
    """Write `blob` (plus the format tag) to `path` atomically: a temp file, then os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **blob}, tmp)
    os.replace(tmp, path)
    return path


def model_blob(
    method: str,
    cfg: ModelConfig,
    model: nn.Module,
    input_size: tuple[int, int],
    num_ids: int,
    **extra: Any,
) -> dict[str, Any]:
    """The checkpoint fields that describe and rebuild `model`; `extra` adds epoch, metrics ..."""
    return {
        "method": method,
        "config": plain(cfg),
        "embedding_dim": cfg.backbone.embed_dim,
        "num_ids": num_ids,
        "input_size": list(input_size),
        "state_dict": model.state_dict(),
        **extra,
    }


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and check a checkpoint dict; CheckpointError (naming the file) if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt files
        raise CheckpointError(
            f"cannot read checkpoint {path} (truncated or corrupt?): {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a reid checkpoint (expected format {FORMAT})")
    missing = [k for k in REQUIRED if k not in blob]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}")
    if blob["method"] not in MODELS:
        raise CheckpointError(
            f"{path}: unknown method {blob['method']!r}; this version knows {sorted(MODELS)}"
        )
    return blob


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model of checkpoint `path` in eval mode on `device`; returns (model, blob).

    External weight files named in the config (backbone, ALSA enhancer) are not read: the
    checkpoint's state_dict holds every weight.
    """
    blob = read_checkpoint(path)
    try:
        cfg = from_mapping(ModelConfig, blob["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: bad model config: {exc}") from None
    cfg = dataclasses.replace(
        cfg,
        backbone=dataclasses.replace(cfg.backbone, weights=None),
        alsa=dataclasses.replace(cfg.alsa, en_weights=None),
    )
    model = build_model(blob["method"], cfg, blob["num_ids"])
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not match the {blob['method']!r} model: "
            f"{str(exc).splitlines()[0]} ..."
        ) from None
    return model.to(device).eval(), blob


def export_checkpoint(src: str | Path, dst: str | Path, half: bool = True) -> Path:
    """Inference-only copy of `src`: no optimiser state or classifier, fp16 weights if `half`."""
    blob = read_checkpoint(src)
    state = {
        k: (v.half() if half and v.is_floating_point() else v)
        for k, v in blob["state_dict"].items()
        if "classifier." not in k
    }
    keep = ("method", "config", "embedding_dim", "input_size", "epoch", "metrics")
    return save_checkpoint(
        dst, {**{k: blob[k] for k in keep if k in blob}, "num_ids": 0, "state_dict": state}
    )


class TorchEmbedder:
    """`Embedder` over a torch model: BGR uint8 crops -> resize -> RGB [0, 1] -> `model.embed`;
    with `flip`, the mean of the crop's and its mirror image's embeddings (twice the cost).
    `backend` "openvino" runs `embed` through OpenVINO (CPU only, `reid.ov_backend`)."""

    def __init__(
        self,
        model: nn.Module,
        input_size: tuple[int, int],
        name: str = "model",
        device: str = "cpu",
        batch_size: int = 32,
        flip: bool = False,
        backend: str = "torch",
    ) -> None:
        self.model, self.input_size, self.name = model.to(device).eval(), input_size, name
        self.device, self.batch_size, self.flip = torch.device(device), batch_size, flip
        self._embed = model.embed
        if backend == "openvino":
            from reid.ov_backend import openvino_embed

            self._embed = openvino_embed(self.model, input_size)
        with torch.inference_mode():
            self.dim = int(self._embed(torch.zeros(1, 3, *input_size, device=device)).shape[1])

    def __call__(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """BGR uint8 (h, w, 3) crops -> (N, dim) float32 unit-norm rows; empty -> (0, dim)."""
        h, w = self.input_size
        out = np.zeros((len(crops), self.dim), np.float32)
        half = self.device.type == "cuda"  # fp16 autocast on GPUs, fp32 on CPU
        with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=half):
            for start in range(0, len(crops), self.batch_size):
                chunk = [
                    cv2.cvtColor(
                        cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
                    )
                    for c in crops[start : start + self.batch_size]
                ]
                # NCHW in memory, not a permuted view: reductions over H, W (ALSA's condition
                # assessment) ran 4x slower on the channels-last strides
                x = torch.from_numpy(np.stack(chunk).transpose(0, 3, 1, 2).copy()).to(self.device)
                x = x.float() / 255
                emb = self._embed(x)
                if self.flip:
                    emb = nn.functional.normalize(emb + self._embed(x.flip(-1)), dim=1)
                out[start : start + len(chunk)] = emb.float().cpu().numpy()
        return out


def load_checkpoint_embedder(
    path: str | Path, device: str = "cpu", batch_size: int = 32, flip: bool = False,
    backend: str = "torch",
) -> TorchEmbedder:
    """The pipeline's `Embedder` for checkpoint `path` (CheckpointError if unusable)."""
    try:
        torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"bad torch device {device!r}: {exc}") from None
    model, blob = load_checkpoint(path, device)
    embedder = TorchEmbedder(
        model,
        tuple(blob["input_size"]),
        f"{blob['method']}:{Path(path).name}",
        device,
        batch_size,
        flip,
        backend,
    )
    if embedder.dim != blob["embedding_dim"]:
        raise CheckpointError(
            f"{path}: model embeds to {embedder.dim}-d, checkpoint says {blob['embedding_dim']}"
        )
    return embedder


def load_trunk_embedder(
    arch: str, device: str = "cpu", batch_size: int = 32, flip: bool = False,
    input_size: tuple[int, int] = (224, 224), backend: str = "torch",
) -> TorchEmbedder:
    """The untrained ImageNet `arch` trunk, global-average-pooled, at ImageNet's 224 x 224: the
    baseline every trained checkpoint is compared with (ConfigError if its weights are absent)."""
    model = PooledTrunk(build_trunk(arch, IMAGENET))
    return TorchEmbedder(model, input_size, f"{IMAGENET}:{arch}", device, batch_size, flip,
                         backend)
