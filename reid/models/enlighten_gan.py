"""EnlightenGAN training parts (methods.md §2.1-2.2): discriminators, SFP loss, and metrics.

The generator is `reid.models.alsa.EnhancementNet`. Everything here works on Bx3xHxW images in
[0,1]; the discriminators get them mapped to [-1,1] by their caller.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

from reid.models.alsa import luminance

_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def discriminator(n_down: int, width: int) -> nn.Sequential:
    """EnlightenGAN's NoNormDiscriminator: `n_down` stride-2 convs (widths x2, capped at 8*width),
    a stride-1 conv, then a 1-channel patch map. Kernel 4, padding 2, LeakyReLU 0.2, no norm.

    Global D: n_down=5 (224 -> 10x10 map); local D: n_down=4 (32x32 patch -> 5x5 map).
    """
    layers: list[nn.Module] = []
    c_in = 3
    for i in range(n_down + 1):
        c_out = width * min(2**i, 8)
        stride = 2 if i < n_down else 1
        layers += [nn.Conv2d(c_in, c_out, 4, stride, padding=2), nn.LeakyReLU(0.2, True)]
        c_in = c_out
    return nn.Sequential(*layers, nn.Conv2d(c_in, 1, 4, padding=2))


def vgg_features(layer: str, weights: Path | None) -> nn.Sequential:
    """Frozen VGG16 trunk through relu3_3 (stride 4) or through relu5_1 without the 4th max-pool
    (stride 8, §2.2). `weights`: a torchvision VGG16 state dict; None: torchvision's random init.
    Only the layers used are built, with torchvision's layer indices."""
    cfg = torchvision.models.vgg.cfgs["D"]
    feats = torchvision.models.vgg.make_layers(cfg[:9] if layer == "relu3_3" else [*cfg[:14], 512])
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        own = feats.state_dict()
        feats.load_state_dict({k: state[f"features.{k}"] for k in own})
    else:
        for m in feats.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    if layer == "relu5_1":
        del feats[23]  # the 4th max-pool
    return feats.eval().requires_grad_(False)


def sfp_loss(vgg: nn.Module, fake: Tensor, ref: Tensor) -> Tensor:
    """Self feature-preserving loss: MSE of instance-normalised VGG features of G's output vs
    its low-light input `ref` (ImageNet-normalised before the VGG)."""
    mean = fake.new_tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = fake.new_tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    f_fake = vgg((fake - mean) / std)
    with torch.no_grad():
        f_ref = vgg((ref - mean) / std)
    return F.mse_loss(F.instance_norm(f_fake), F.instance_norm(f_ref))


def sobel_l1(fake: Tensor, ref: Tensor) -> Tensor:
    """L1 between Sobel gradients of per-image standardised luma (scale-invariant structure)."""
    kx = fake.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernel = torch.stack([kx, kx.T])[:, None]

    def grads(x: Tensor) -> Tensor:
        y = luminance(x)
        y = (y - y.mean(dim=(2, 3), keepdim=True)) / (y.std(dim=(2, 3), keepdim=True) + 1e-3)
        return F.conv2d(y, kernel, padding=1)

    return F.l1_loss(grads(fake), grads(ref))


def ls_loss(pred: Tensor, target: float) -> Tensor:
    """Least-squares GAN term: MSE(pred, target)."""
    return F.mse_loss(pred, torch.full_like(pred, target))


def random_corners(rng: np.random.Generator, n: int, crop: int, size: int) -> list[tuple[int, int]]:
    """`n` random (top, left) corners of size x size patches inside a crop x crop image."""
    return [tuple(rng.integers(crop - size + 1, size=2).tolist()) for _ in range(n)]


def patches(x: Tensor, corners: list[tuple[int, int]], size: int) -> Tensor:
    """Same-position patches of a batch, stacked: (len(corners)*B) x 3 x size x size."""
    return torch.cat([x[:, :, top : top + size, left : left + size] for top, left in corners])


def image_metrics(x: Tensor, y: Tensor) -> dict[str, float]:
    """Mean PSNR (dB), SSIM (7x7 uniform window, on luma) and luma ratio of x vs y (Bx3xHxW)."""
    mse = (x - y).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    a, b = luminance(x), luminance(y)
    mu_a, mu_b = F.avg_pool2d(a, 7, 1), F.avg_pool2d(b, 7, 1)
    var_a = F.avg_pool2d(a * a, 7, 1) - mu_a**2
    var_b = F.avg_pool2d(b * b, 7, 1) - mu_b**2
    cov = F.avg_pool2d(a * b, 7, 1) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    ssim = (
        (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    )
    return {
        "psnr": (10 * torch.log10(1 / mse)).mean().item(),
        "ssim": ssim.mean().item(),
        "luma_ratio": (a.mean() / b.mean()).item(),
    }
