"""Train ALSA's enhancement network (EN) ourselves: unpaired EnlightenGAN recipe (methods.md §2).

No pretrained EnlightenGAN weights can be had (A12), so G = `EnhancementNet` is trained against a
global relativistic-average LSGAN discriminator and a local LSGAN discriminator on random
patches, plus a self-feature-preserving (SFP) loss that compares G(low) with its own low input.

Data (all unpaired):
* normal: images in `normal_dirs` (optionally only the names in `normal_list`) with mean luma
  >= `min_normal_luma`, from one random half of the identities;
* low: the other half of the identities, darkened on the fly (`synthesize_low_light`), and/or
  real low-light crops from `low_dirs`. A real crop counts as low-light only if its mean luma is
  at most `real_low_max_luma`: above ≈ 0.39, with a saturated pixel, GCA sets alpha = 1 and the EN
  never sees the image. The identity is the file stem without a trailing `_cam<k>`.

A13: without local ImageNet VGG16 weights (`vgg_weights`), SFP uses a frozen random-init VGG16,
plus an L1 loss on Sobel gradients of per-image standardised luma (`sobel_weight`). The run
records which was used in `log.jsonl` and in the EN file's `meta`.

Run: `python -m reid.enlighten configs/reid/enlighten.yaml runs/enlighten`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

from reid.config import load_yaml, require
from reid.degrade import darken, low_light
from reid.errors import CheckpointError
from reid.models.alsa import EN_FORMAT, LUMA_WEIGHTS, EnhancementNet, luminance

TRAIN_FORMAT = "mcvrt-enlighten-train/1"
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class EnlightenConfig:
    """EN training settings; defaults are the CPU settings of methods.md §7 (w=8, 96² crops)."""

    normal_dirs: tuple[Path, ...] = ()
    normal_list: Path | None = None  # keep only these file names (one per line)
    low_dirs: tuple[Path, ...] = ()  # real low-light crops
    synthetic_low: bool = True
    real_low_prob: float = 0.5  # chance a low sample is real when both kinds exist
    min_normal_luma: float = 0.35
    max_low_luma: float = 0.25  # synthetic low images end below this
    real_low_max_luma: float = 0.4
    min_side: int = 24  # skip smaller images
    en_width: int = 8
    d_width: int = 64
    crop: int = 96
    batch: int = 4
    patch: int = 32
    n_patches: int = 6
    vary_prob: float = 0.5  # G input additionally divided by U[2, 4]
    vflip: bool = True
    sfp_layer: str = "relu5_1"  # or "relu3_3" (CPU)
    vgg_weights: Path | None = None  # torchvision VGG16 state dict; None: random init (A13)
    sobel_weight: float = 1.0
    iterations: int = 400
    decay_from: int = 200  # lr decays linearly to 0 from here to `iterations`
    lr: float = 1e-4
    beta1: float = 0.5
    seed: int = 0
    threads: int = 0  # torch.set_num_threads; 0 leaves the default
    log_every: int = 10
    save_every: int = 50
    monitor_pairs: int = 16

    def __post_init__(self) -> None:
        require(bool(self.normal_dirs), "enlighten.normal_dirs must name at least one folder")
        require(self.synthetic_low or bool(self.low_dirs), "no low-light source configured")
        require(self.sfp_layer in ("relu5_1", "relu3_3"), "sfp_layer: relu5_1 or relu3_3")
        require(
            self.crop % 16 == 0 and 0 < self.patch <= self.crop, "crop % 16 == 0, patch <= crop"
        )
        require(0 <= self.decay_from <= self.iterations, "need 0 <= decay_from <= iterations")
        require(self.batch >= 1 and self.n_patches >= 1, "batch and n_patches must be >= 1")


def synthesize_low_light(
    img: np.ndarray, rng: np.random.Generator, max_luma: float = 0.25
) -> np.ndarray:
    """Darken an HxWx3 uint8 image by one of methods.md §2.3's three modes, chosen uniformly.

    The modes are linear scale U[0.1, 0.4] (`degrade.darken`), gamma U[2, 3.5], and physical
    low light (`degrade.low_light`: gain LogUniform[0.02, 0.3], shot noise U[1e-4, 2e-3], read
    noise U[1e-3, 1e-2]; the optional colour cast is left out). It redraws until the mean luma
    is below `max_luma` (8 tries), then rescales the last draw. All modes treat the channels
    alike, so RGB and BGR both work.
    """
    for _ in range(8):
        mode = rng.integers(3)
        if mode == 0:
            out = darken(img, rng.uniform(0.1, 0.4))
        elif mode == 1:
            out = np.rint((img / 255.0) ** rng.uniform(2.0, 3.5) * 255).astype(np.uint8)
        else:
            gain = float(np.exp(rng.uniform(np.log(0.02), np.log(0.3))))
            shot, read = rng.uniform(1e-4, 2e-3), rng.uniform(1e-3, 1e-2)
            out = low_light(img, gain, rng, shot_noise=shot, read_noise=read)
        luma = _mean_luma(out)
        if luma < max_luma:
            return out
    return darken(out, 0.9 * max_luma / luma)


def _mean_luma(img: np.ndarray) -> float:
    """Mean Rec. 601 luma of an HxWx3 RGB uint8 image, in [0, 1]."""
    return float((img.reshape(-1, 3) @ np.asarray(LUMA_WEIGHTS)).mean() / 255.0)


def _to_batch(images: list[np.ndarray]) -> Tensor:
    """HxWx3 uint8 arrays -> Bx3xHxW float in [0, 1]."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0


class _Pool:
    """RGB uint8 images in RAM, short side resized to crop*8/7; `draw` gives a random crop."""

    def __init__(self, images: list[np.ndarray], crop: int, vflip: bool) -> None:
        self.images, self.crop, self.vflip = images, crop, vflip

    def __len__(self) -> int:
        return len(self.images)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """A random crop x crop x 3 uint8 crop with random horizontal/vertical flips."""
        img = self.images[rng.integers(len(self.images))]
        top = rng.integers(img.shape[0] - self.crop + 1)
        left = rng.integers(img.shape[1] - self.crop + 1)
        x = img[top : top + self.crop, left : left + self.crop]
        if rng.random() < 0.5:
            x = x[:, ::-1]
        if self.vflip and rng.random() < 0.5:
            x = x[::-1]
        return np.ascontiguousarray(x)


def _load_images(paths: list[Path], cfg: EnlightenConfig) -> list[tuple[Path, np.ndarray]]:
    """Read RGB uint8 images, drop those below `min_side`, resize the short side to crop*8/7."""
    size = round(cfg.crop * 8 / 7)
    out = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < cfg.min_side:
            continue
        scale = size / min(img.shape[:2])
        wh = (max(size, round(img.shape[1] * scale)), max(size, round(img.shape[0] * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        out.append((p, cv2.cvtColor(cv2.resize(img, wh, interpolation=interp), cv2.COLOR_BGR2RGB)))
    return out


def _list_images(dirs: tuple[Path, ...], names: set[str] | None = None) -> list[Path]:
    files = (p for d in dirs for p in sorted(Path(d).iterdir()))
    return [
        p
        for p in files
        if p.suffix.lower() in _IMAGE_SUFFIXES and (names is None or p.name in names)
    ]


def _identity(path: Path) -> str:
    return re.sub(r"_cam\d+$", "", path.stem)


def build_pools(
    cfg: EnlightenConfig, rng: np.random.Generator
) -> tuple[_Pool, _Pool | None, _Pool | None]:
    """(normal, synthetic-low source or None, real-low or None) per the module docstring."""
    names = set(Path(cfg.normal_list).read_text().split()) if cfg.normal_list else None
    loaded = _load_images(_list_images(cfg.normal_dirs, names), cfg)
    ids = sorted({_identity(p) for p, _ in loaded})
    perm = rng.permutation(len(ids))
    low_ids = {ids[i] for i in perm[: len(ids) // 2]} if cfg.synthetic_low else set()
    normal = [im for p, im in loaded if _identity(p) not in low_ids]
    normal = [im for im in normal if _mean_luma(im) >= cfg.min_normal_luma]
    syn = [im for p, im in loaded if _identity(p) in low_ids]
    real = [im for _, im in _load_images(_list_images(cfg.low_dirs), cfg)]
    real = [im for im in real if _mean_luma(im) <= cfg.real_low_max_luma]
    require(bool(normal), "no normal-light training images found")
    require(bool(syn) or bool(real), "no low-light training images found")
    pools = [_Pool(ims, cfg.crop, cfg.vflip) if ims else None for ims in (syn, real)]
    return _Pool(normal, cfg.crop, cfg.vflip), pools[0], pools[1]


def discriminator(n_down: int, width: int) -> nn.Sequential:
    """EnlightenGAN's NoNormDiscriminator: `n_down` stride-2 convs (widths x2, capped at 8·width),
    a stride-1 conv, then a 1-channel patch map. Kernel 4, padding 2, LeakyReLU 0.2, no norm."""
    layers: list[nn.Module] = []
    c_in = 3
    for i in range(n_down + 1):
        c_out = width * min(2**i, 8)
        layers += [
            nn.Conv2d(c_in, c_out, 4, stride=2 if i < n_down else 1, padding=2),
            nn.LeakyReLU(0.2, True),
        ]
        c_in = c_out
    return nn.Sequential(*layers, nn.Conv2d(c_in, 1, 4, padding=2))


def vgg_features(layer: str, weights: Path | None) -> nn.Sequential:
    """Frozen VGG16 trunk through relu3_3, or through relu5_1 without the 4th max-pool (§2.2)."""
    feats = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        feats.load_state_dict(
            {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        )
    else:  # torchvision's VGG init
        for m in feats.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
    keep = list(range(16)) if layer == "relu3_3" else [*range(23), 24, 25]
    return nn.Sequential(*(feats[i] for i in keep)).eval().requires_grad_(False)


def _sfp(vgg: nn.Module, fake: Tensor, ref: Tensor) -> Tensor:
    """MSE between instance-normalised VGG features of G's output and of its low-light input."""
    mean = fake.new_tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = fake.new_tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    f_fake = vgg((fake - mean) / std)
    with torch.no_grad():
        f_ref = vgg((ref - mean) / std)
    return F.mse_loss(F.instance_norm(f_fake), F.instance_norm(f_ref))


def _sobel_l1(fake: Tensor, ref: Tensor) -> Tensor:
    """L1 between Sobel gradients of per-image standardised luma (scale-invariant structure)."""
    kx = fake.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernel = torch.stack([kx, kx.T])[:, None]

    def grads(x: Tensor) -> Tensor:
        y = luminance(x)
        y = (y - y.mean(dim=(2, 3), keepdim=True)) / (y.std(dim=(2, 3), keepdim=True) + 1e-3)
        return F.conv2d(y, kernel, padding=1)

    return F.l1_loss(grads(fake), grads(ref))


def _patches(x: Tensor, corners: list[tuple[int, int]], size: int) -> Tensor:
    """Stack same-position patches of a batch: (len(corners)*B) x 3 x size x size."""
    return torch.cat([x[:, :, top : top + size, left : left + size] for top, left in corners])


def _corners(rng: np.random.Generator, n: int, crop: int, size: int) -> list[tuple[int, int]]:
    return [tuple(rng.integers(crop - size + 1, size=2).tolist()) for _ in range(n)]


def _ls(pred: Tensor, target: float) -> Tensor:
    return F.mse_loss(pred, torch.full_like(pred, target))


def image_metrics(x: Tensor, y: Tensor) -> dict[str, float]:
    """Mean PSNR (dB), SSIM (7x7 uniform window, on luma) and luma ratio of x vs y (Bx3xHxW)."""
    mse = (x - y).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    psnr = (10 * torch.log10(1 / mse)).mean().item()
    a, b = luminance(x), luminance(y)
    mu_a, mu_b = F.avg_pool2d(a, 7, 1), F.avg_pool2d(b, 7, 1)
    var_a = F.avg_pool2d(a * a, 7, 1) - mu_a**2
    var_b = F.avg_pool2d(b * b, 7, 1) - mu_b**2
    cov = F.avg_pool2d(a * b, 7, 1) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    ssim = (
        (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    )
    return {"psnr": psnr, "ssim": ssim.mean().item(), "luma_ratio": (a.mean() / b.mean()).item()}


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _config_dict(cfg: EnlightenConfig) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return (
            str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, tuple) else v
        )

    return {k: plain(v) for k, v in dataclasses.asdict(cfg).items()}


class _Trainer:
    """State of one EnlightenGAN run: G, the two discriminators, optimisers, data, RNG."""

    def __init__(self, cfg: EnlightenConfig) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.normal, self.syn, self.real = build_pools(cfg, self.rng)
        self.G = EnhancementNet(cfg.en_width)
        self.D_global, self.D_local = discriminator(5, cfg.d_width), discriminator(4, cfg.d_width)
        self.vgg = vgg_features(cfg.sfp_layer, cfg.vgg_weights)
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), cfg.lr, betas=betas)
        d_params = [*self.D_global.parameters(), *self.D_local.parameters()]
        self.opt_d = torch.optim.Adam(d_params, cfg.lr, betas=betas)
        span = max(cfg.iterations - cfg.decay_from, 1)
        decay = lambda it: min(1.0, max(0.0, (cfg.iterations - it) / span))  # noqa: E731
        self.scheds = [
            torch.optim.lr_scheduler.LambdaLR(o, decay) for o in (self.opt_g, self.opt_d)
        ]
        self.iteration = 0
        monitor_rng = np.random.default_rng(cfg.seed + 1)
        pairs = [(self.syn or self.normal).draw(monitor_rng) for _ in range(cfg.monitor_pairs)]
        self.monitor_normal = _to_batch(pairs)
        self.monitor_low = _to_batch(
            [synthesize_low_light(x, monitor_rng, cfg.max_low_luma) for x in pairs]
        )

    def sfp_flag(self) -> str:
        vgg = "imagenet" if self.cfg.vgg_weights else "random-init (A13)"
        return f"vgg16 {self.cfg.sfp_layer} {vgg}, sobel x{self.cfg.sobel_weight}"

    def _low_batch(self) -> Tensor:
        real_prob = self.cfg.real_low_prob if self.syn else 1.0
        samples = []
        for _ in range(self.cfg.batch):
            if self.real is not None and self.rng.random() < real_prob:
                samples.append(self.real.draw(self.rng))
            else:
                img = self.syn.draw(self.rng)
                samples.append(synthesize_low_light(img, self.rng, self.cfg.max_low_luma))
        return _to_batch(samples)

    def step(self) -> dict[str, float]:
        """One iteration: G step, then one step on both discriminators with G's output detached."""
        cfg = self.cfg
        low = self._low_batch()
        normal = _to_batch([self.normal.draw(self.rng) for _ in range(cfg.batch)])
        divisor = np.where(
            self.rng.random(cfg.batch) < cfg.vary_prob, self.rng.uniform(2, 4, cfg.batch), 1
        )
        fake = self.G(low / torch.from_numpy(divisor).float().view(-1, 1, 1, 1))
        fake_at = _corners(self.rng, cfg.n_patches, cfg.crop, cfg.patch)
        real_at = _corners(self.rng, cfg.n_patches, cfg.crop, cfg.patch)
        fake_p, low_p = _patches(fake, fake_at, cfg.patch), _patches(low, fake_at, cfg.patch)
        real_p = _patches(normal, real_at, cfg.patch)

        pred_real = self.D_global(2 * normal - 1)
        self.D_global.requires_grad_(False)
        self.D_local.requires_grad_(False)
        pred_fake = self.D_global(2 * fake - 1)
        real_rel = pred_real.detach() - pred_fake.mean()
        terms = {
            "g_global": 0.5
            * (_ls(real_rel, 0.0) + _ls(pred_fake - pred_real.detach().mean(), 1.0)),
            "g_local": _ls(self.D_local(2 * fake_p - 1), 1.0),
            "sfp_global": _sfp(self.vgg, fake, low),
            "sfp_local": _sfp(self.vgg, fake_p, low_p),
            "sobel": cfg.sobel_weight * _sobel_l1(fake, low),
        }
        g_total = sum(terms.values())
        self.opt_g.zero_grad(set_to_none=True)
        g_total.backward()
        self.opt_g.step()
        self.D_global.requires_grad_(True)
        self.D_local.requires_grad_(True)

        pred_fake = self.D_global(2 * fake.detach() - 1)
        terms["d_global"] = 0.5 * (
            _ls(pred_real - pred_fake.mean(), 1.0) + _ls(pred_fake - pred_real.mean(), 0.0)
        )
        terms["d_local"] = 0.5 * (
            _ls(self.D_local(2 * real_p - 1), 1.0) + _ls(self.D_local(2 * fake_p.detach() - 1), 0.0)
        )
        self.opt_d.zero_grad(set_to_none=True)
        (terms["d_global"] + terms["d_local"]).backward()
        self.opt_d.step()
        for s in self.scheds:
            s.step()
        self.iteration += 1
        return {"g_total": g_total.item(), **{k: v.item() for k, v in terms.items()}}

    @torch.no_grad()
    def monitor(self, preview: Path | None = None) -> dict[str, float]:
        """PSNR/SSIM/luma ratio of G(low) vs normal on the fixed synthetic pairs (eval mode)."""
        self.G.eval()
        out = self.G(self.monitor_low).clamp(0, 1)
        self.G.train()
        if preview is not None:
            rows = torch.cat([self.monitor_low[:8], out[:8], self.monitor_normal[:8]])
            save_image(make_grid(rows, nrow=min(8, len(out)), padding=2), preview)
        return image_metrics(out, self.monitor_normal)

    def state(self) -> dict[str, Any]:
        return {
            "format": TRAIN_FORMAT,
            "config": _config_dict(self.cfg),
            "iteration": self.iteration,
            "G": self.G.state_dict(),
            "D_global": self.D_global.state_dict(),
            "D_local": self.D_local.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scheds": [s.state_dict() for s in self.scheds],
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }

    def load(self, path: Path) -> None:
        """Resume from a `last.pt` written by `state()`; the model widths must match."""
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"cannot read {path} (truncated?): {exc}") from None
        if not isinstance(blob, dict) or blob.get("format") != TRAIN_FORMAT:
            raise CheckpointError(f"{path} is not an EN training checkpoint ({TRAIN_FORMAT})")
        for key in ("en_width", "d_width"):
            if blob["config"][key] != getattr(self.cfg, key):
                raise CheckpointError(
                    f"{path}: {key}={blob['config'][key]} differs from the config"
                )
        for name in ("G", "D_global", "D_local", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(blob[name])
        for sched, state in zip(self.scheds, blob["scheds"], strict=True):
            sched.load_state_dict(state)
        self.rng.bit_generator.state = blob["rng"]
        torch.set_rng_state(blob["torch_rng"])
        self.iteration = blob["iteration"]

    def save(self, out_dir: Path) -> Path:
        """Write `last.pt` (resumable) and `en_G.pt` (what ALSAConfig.en_weights loads)."""
        _atomic_save(self.state(), out_dir / "last.pt")
        en_path = out_dir / "en_G.pt"
        meta = {
            "iterations": self.iteration,
            "sfp": self.sfp_flag(),
            "config": _config_dict(self.cfg),
        }
        _atomic_save(
            {
                "format": EN_FORMAT,
                "width": self.cfg.en_width,
                "state_dict": self.G.state_dict(),
                "meta": meta,
            },
            en_path,
        )
        return en_path


def train_enhancer(cfg: EnlightenConfig, out_dir: str | Path, resume: bool = True) -> Path:
    """Train the EN per `cfg`; write `last.pt`, `en_G.pt`, `log.jsonl` and `preview.png` in
    `out_dir`, and return the path of `en_G.pt`. With `resume`, continue from `out_dir/last.pt`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    trainer = _Trainer(cfg)
    if resume and (out_dir / "last.pt").exists():
        trainer.load(out_dir / "last.pt")
    with (out_dir / "log.jsonl").open("a") as log:

        def write(record: dict[str, Any]) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        def checkpoint() -> Path:
            write(
                {
                    "iteration": trainer.iteration,
                    "monitor": trainer.monitor(out_dir / "preview.png"),
                }
            )
            return trainer.save(out_dir)

        if trainer.iteration == 0:
            sizes = {
                "normal": len(trainer.normal),
                "synthetic_low": len(trainer.syn or []),
                "real_low": len(trainer.real or []),
            }
            write(
                {
                    "event": "start",
                    "images": sizes,
                    "sfp": trainer.sfp_flag(),
                    "low_vs_normal": image_metrics(trainer.monitor_low, trainer.monitor_normal),
                }
            )
        window: list[dict[str, float]] = []
        bar = tqdm(
            range(trainer.iteration, cfg.iterations),
            desc="EN",
            initial=trainer.iteration,
            total=cfg.iterations,
            mininterval=5,
        )
        for _ in bar:
            window.append(trainer.step())
            it = trainer.iteration
            if it % cfg.log_every == 0 or it == cfg.iterations:
                mean = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                bar.set_postfix(
                    g=f"{mean['g_total']:.3f}", d=f"{mean['d_global'] + mean['d_local']:.3f}"
                )
                write({"iteration": it, "lr": trainer.scheds[0].get_last_lr()[0], **mean})
                window = []
            if it % cfg.save_every == 0 and it < cfg.iterations:
                checkpoint()
        return checkpoint()


def main(argv: list[str] | None = None) -> None:
    """CLI: python -m reid.enlighten CONFIG OUT_DIR [--no-resume]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--no-resume", action="store_true")
    args = parser.parse_args(argv)
    path = train_enhancer(
        load_yaml(EnlightenConfig, args.config), args.out_dir, resume=not args.no_resume
    )
    print(f"EN weights: {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
