"""OpenVINO inference for a model's `embed` on CPU: the same function, compiled once.

On the 2-core CPU this runs the shipped MobileNetV2 embedding about 2x faster than PyTorch, in
f32, equal to PyTorch's output to about 3e-7. A model with an
image-correction front (`correction` + `net`, e.g. ALSA) keeps the correction in PyTorch, whose
enhancement network runs only on the crops that need it, and compiles `net`. The converted model
is cached on disk (`$MCVRT_CACHE`, default `~/.cache/mcvrt`), keyed by the weights, the input size
and the OpenVINO version, so only the first load of a model pays the conversion (about 2 s).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn


class _Embed(nn.Module):
    """`module.embed` as `forward`, which is what OpenVINO converts."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, images: Tensor) -> Tensor:
        return self.module.embed(images)


def openvino_embed(model: nn.Module, input_size: tuple[int, int]) -> Callable[[Tensor], Tensor]:
    """`model.embed` for (B, 3, H, W) float CPU tensors, run by OpenVINO (any batch size)."""
    import openvino as ov

    correction = getattr(model, "correction", None)
    net = model.net if correction is not None else model
    h, w = input_size
    cached = _cache_path(net, input_size, ov.__version__)
    source = cached
    if not cached.is_file():
        with torch.inference_mode(False), torch.no_grad():
            source = ov.convert_model(
                _Embed(net).eval(), example_input=torch.zeros(1, 3, h, w), input=[(-1, 3, h, w)]
            )
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.xml")
            ov.save_model(source, tmp, compress_to_fp16=False)  # f32 weights, as PyTorch's
            tmp.with_suffix(".bin").replace(cached.with_suffix(".bin"))  # .bin first: the .xml
            tmp.replace(cached)  # appearing marks a complete pair
        except OSError:  # no writable cache: convert again next time
            pass
    # f32: the CPU plugin's default may pick bf16, which moved cross-camera links on the demo.
    # No thread pinning: the detector runs its own OpenVINO model beside this one, and two
    # models pinning their threads to the same cores made the whole pipeline 10 % slower (B1).
    compiled = ov.Core().compile_model(
        source, "CPU", {"INFERENCE_PRECISION_HINT": "f32", "ENABLE_CPU_PINNING": False})

    def embed(images: Tensor) -> Tensor:
        if correction is not None:
            images = correction(images)
        out = compiled(np.ascontiguousarray(images.numpy(), dtype=np.float32))[0]
        return torch.from_numpy(np.asarray(out, dtype=np.float32))

    return embed


def _cache_path(net: nn.Module, input_size: tuple[int, int], version: str) -> Path:
    """Where the converted `net` lives: a hash of its weights, input size and OpenVINO version."""
    digest = hashlib.sha1(f"{input_size}{version}{type(net).__name__}".encode())
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    root = Path(os.environ.get("MCVRT_CACHE", Path.home() / ".cache" / "mcvrt"))
    return root / "openvino" / f"{digest.hexdigest()[:20]}.xml"
