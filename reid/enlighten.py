"""Train ALSA's enhancement network (EN) ourselves: unpaired EnlightenGAN recipe (methods.md §2).

No pretrained EnlightenGAN weights can be had (A12). So G = `EnhancementNet` is trained against
two discriminators: a global relativistic-average LSGAN one, and a local LSGAN one on
`n_patches` random patches. A self-feature-preserving (SFP) loss compares G(low) with its own
low input. The data is unpaired (`reid.enlighten_data`). With probability `vary_prob`, G's input
is further divided by U[2, 4], while SFP still compares against the undivided image.

A13: without local ImageNet VGG16 weights (`vgg_weights`), SFP uses a frozen random-init VGG16.
An L1 loss on Sobel gradients of per-image standardised luma (`sobel_weight`) is added. Which of
the two was used goes into `log.jsonl` and into the EN file's `meta`.

Run: `python -m reid.enlighten configs/reid/enlighten.yaml runs/enlighten`.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.utils import make_grid, save_image
from tqdm import tqdm

from reid.checkpoint import plain
from reid.config import load_yaml, require
from reid.enlighten_data import EnlightenData, UnpairedData
from reid.errors import CheckpointError
from reid.models.alsa import EN_FORMAT, EnhancementNet
from reid.models.enlighten_gan import (
    discriminator,
    image_metrics,
    ls_loss,
    patches,
    random_corners,
    sfp_loss,
    sobel_l1,
    vgg_features,
)

TRAIN_FORMAT = "mcvrt-enlighten-train/1"


@dataclass(frozen=True)
class EnlightenConfig:
    """EN training settings; defaults are the CPU settings of methods.md §7 (w=8, 96² crops)."""

    data: EnlightenData = field(default_factory=EnlightenData)
    en_width: int = 8
    d_width: int = 64
    batch: int = 4
    patch: int = 32
    n_patches: int = 6
    vary_prob: float = 0.5
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
        require(self.sfp_layer in ("relu5_1", "relu3_3"), "sfp_layer: relu5_1 or relu3_3")
        require(0 < self.patch <= self.data.crop, "need 0 < patch <= data.crop")
        require(0 <= self.decay_from <= self.iterations, "need 0 <= decay_from <= iterations")
        require(self.batch >= 1 and self.n_patches >= 1, "batch and n_patches must be >= 1")


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class _Trainer:
    """State of one EnlightenGAN run: G, the two discriminators, optimisers, data, RNG."""

    def __init__(self, cfg: EnlightenConfig) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.data = UnpairedData(cfg.data, self.rng)
        self.G = EnhancementNet(cfg.en_width)
        self.D_global, self.D_local = discriminator(5, cfg.d_width), discriminator(4, cfg.d_width)
        self.vgg = vgg_features(cfg.sfp_layer, cfg.vgg_weights)
        betas = (cfg.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), cfg.lr, betas=betas)
        d_params = [*self.D_global.parameters(), *self.D_local.parameters()]
        self.opt_d = torch.optim.Adam(d_params, cfg.lr, betas=betas)
        span = max(cfg.iterations - cfg.decay_from, 1)
        decay = lambda it: min(1.0, (cfg.iterations - it) / span)  # noqa: E731
        self.scheds = [
            torch.optim.lr_scheduler.LambdaLR(o, decay) for o in (self.opt_g, self.opt_d)
        ]
        self.iteration = 0
        self.monitor_low, self.monitor_normal = self.data.monitor_pairs(
            cfg.monitor_pairs, cfg.seed + 1
        )
        vgg = "imagenet" if cfg.vgg_weights else "random-init (A13)"
        self.sfp_flag = f"vgg16 {cfg.sfp_layer} {vgg}, sobel x{cfg.sobel_weight}"

    def step(self) -> dict[str, float]:
        """One iteration: G step, then one step on both discriminators with G's output detached."""
        cfg, rng = self.cfg, self.rng
        low = self.data.low_batch(rng, cfg.batch)
        normal = self.data.normal_batch(rng, cfg.batch)
        divisor = np.where(rng.random(cfg.batch) < cfg.vary_prob, rng.uniform(2, 4, cfg.batch), 1)
        fake = self.G(low / torch.from_numpy(divisor).float().view(-1, 1, 1, 1))
        fake_at = random_corners(rng, cfg.n_patches, cfg.data.crop, cfg.patch)
        real_at = random_corners(rng, cfg.n_patches, cfg.data.crop, cfg.patch)
        fake_p, low_p = patches(fake, fake_at, cfg.patch), patches(low, fake_at, cfg.patch)
        real_p = patches(normal, real_at, cfg.patch)

        pred_real = self.D_global(2 * normal - 1)
        self.D_global.requires_grad_(False)
        self.D_local.requires_grad_(False)
        pred_fake = self.D_global(2 * fake - 1)
        real_rel, fake_rel = (
            pred_real.detach() - pred_fake.mean(),
            pred_fake - pred_real.detach().mean(),
        )
        terms = {
            "g_global": 0.5 * (ls_loss(real_rel, 0.0) + ls_loss(fake_rel, 1.0)),
            "g_local": ls_loss(self.D_local(2 * fake_p - 1), 1.0),
            "sfp_global": sfp_loss(self.vgg, fake, low),
            "sfp_local": sfp_loss(self.vgg, fake_p, low_p),
            "sobel": cfg.sobel_weight * sobel_l1(fake, low),
        }
        g_total = sum(terms.values())
        self.opt_g.zero_grad(set_to_none=True)
        g_total.backward()
        self.opt_g.step()
        self.D_global.requires_grad_(True)
        self.D_local.requires_grad_(True)

        pred_fake = self.D_global(2 * fake.detach() - 1)
        real_rel, fake_rel = pred_real - pred_fake.mean(), pred_fake - pred_real.mean()
        terms["d_global"] = 0.5 * (ls_loss(real_rel, 1.0) + ls_loss(fake_rel, 0.0))
        terms["d_local"] = 0.5 * (
            ls_loss(self.D_local(2 * real_p - 1), 1.0)
            + ls_loss(self.D_local(2 * fake_p.detach() - 1), 0.0)
        )
        self.opt_d.zero_grad(set_to_none=True)
        (terms["d_global"] + terms["d_local"]).backward()
        self.opt_d.step()
        for sched in self.scheds:
            sched.step()
        self.iteration += 1
        return {"g_total": g_total.item(), **{k: v.item() for k, v in terms.items()}}

    @torch.no_grad()
    def monitor(self, preview: Path) -> dict[str, float]:
        """PSNR/SSIM/luma ratio of G(low) vs normal on the fixed synthetic pairs (G in eval mode);
        writes a grid (rows: low input, G output, normal) to `preview`."""
        self.G.eval()
        out = self.G(self.monitor_low).clamp(0, 1)
        self.G.train()
        rows = torch.cat([self.monitor_low[:8], out[:8], self.monitor_normal[:8]])
        save_image(make_grid(rows, nrow=min(8, len(out)), padding=2), preview)
        return image_metrics(out, self.monitor_normal)

    def save(self, out_dir: Path) -> Path:
        """Write `last.pt` (resumable) and `en_G.pt` (what ALSAConfig.en_weights loads)."""
        config = plain(self.cfg)
        modules = ("G", "D_global", "D_local", "opt_g", "opt_d")
        state = {name: getattr(self, name).state_dict() for name in modules}
        _atomic_save(
            {
                "format": TRAIN_FORMAT,
                "config": config,
                "iteration": self.iteration,
                **state,
                "scheds": [s.state_dict() for s in self.scheds],
                "rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
            out_dir / "last.pt",
        )
        meta = {"iterations": self.iteration, "sfp": self.sfp_flag, "config": config}
        en = {
            "format": EN_FORMAT,
            "width": self.cfg.en_width,
            "state_dict": state["G"],
            "meta": meta,
        }
        _atomic_save(en, out_dir / "en_G.pt")
        return out_dir / "en_G.pt"

    def load(self, path: Path) -> None:
        """Resume from a `last.pt` written by `save`; the model widths must match."""
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


def train_enhancer(cfg: EnlightenConfig, out_dir: str | Path, resume: bool = True) -> Path:
    """Train the EN per `cfg` and return the path of `out_dir/en_G.pt`.

    Writes in `out_dir`: `last.pt` (all training state, every `save_every` iterations, atomic),
    `en_G.pt` (the generator, for `ALSAConfig.en_weights`), `log.jsonl` (loss terms averaged
    over `log_every` iterations, plus monitor metrics) and `preview.png`. With `resume`, an
    existing `out_dir/last.pt` is continued. `cfg.threads` applies for the call's duration.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads or threads)
    try:
        return _train(cfg, out_dir, resume)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: EnlightenConfig, out_dir: Path, resume: bool) -> Path:
    trainer = _Trainer(cfg)
    if resume and (out_dir / "last.pt").exists():
        trainer.load(out_dir / "last.pt")
    with (out_dir / "log.jsonl").open("a") as log:

        def write(record: dict[str, Any]) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        def checkpoint() -> Path:
            metrics = trainer.monitor(out_dir / "preview.png")
            write({"iteration": trainer.iteration, "monitor": metrics})
            return trainer.save(out_dir)

        if trainer.iteration == 0:
            baseline = image_metrics(trainer.monitor_low, trainer.monitor_normal)
            sizes = trainer.data.sizes()
            write(
                {
                    "event": "start",
                    "images": sizes,
                    "sfp": trainer.sfp_flag,
                    "low_vs_normal": baseline,
                }
            )
        window: list[dict[str, float]] = []
        todo = range(trainer.iteration, cfg.iterations)
        bar = tqdm(todo, desc="EN", initial=trainer.iteration, total=cfg.iterations, mininterval=5)
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
    parser = argparse.ArgumentParser(description="Train ALSA's enhancement network (EN).")
    parser.add_argument("config", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--no-resume", action="store_true")
    args = parser.parse_args(argv)
    cfg = load_yaml(EnlightenConfig, args.config)
    path = train_enhancer(cfg, args.out_dir, resume=not args.no_resume)
    print(f"EN weights: {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
