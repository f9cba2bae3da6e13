"""One training loop for every method: `train(cfg, out_dir) -> best checkpoint path`.

Each step: `out = model(images)`, `terms = objective(out, batch, cfg.loss)`, then
`sum(terms).backward()`.
Per-term epoch means go to `<out_dir>/train.log` (and any configured logging handler); every
`eval.every` epochs the test/val split is evaluated; `last.pt` (with optimiser state, for resuming)
and `best.pt` are written atomically. Batches, augmentation and the darker subset depend only on
(seed, epoch), so a resumed run continues exactly as an uninterrupted one.

Run: `python -m reid.train configs/reid/alsa.yaml [--out DIR] [--set optim.epochs=5 ...]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from reid.checkpoint import model_blob, plain, read_checkpoint, save_checkpoint
from reid.config import from_mapping, load_yaml
from reid.data.datasets import Batch, DatasetError, ImageCache, read_dataset
from reid.data.fog_streams import FogStreams
from reid.data.samplers import PKSampler
from reid.enlighten import train_enhancer
from reid.errors import CheckpointError, ConfigError
from reid.evaluate import evaluate, load_images
from reid.models import build_model
from reid.objectives import OBJECTIVES
from reid.train_config import TrainConfig

log = logging.getLogger("reid.train")


def _attach_log_file(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def _train_epoch(
    model: torch.nn.Module,
    cache: ImageCache,
    batches: list[list[int]],
    cfg: TrainConfig,
    optimizer: torch.optim.Optimizer,
    epoch: int,
    fog: FogStreams | None = None,
) -> dict[str, float]:
    """One pass over `batches`; returns the mean of each loss term and of the total.

    With `fog`, each step's batch becomes a fogged "syn" batch (plus a "real" one every
    `fog.real_every` steps); each is forwarded on its own and the terms are summed, "syn/..."
    and "real/..." (SJDL's alternating schedule, methods.md §3.3).
    """
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
    objective, device = OBJECTIVES[cfg.method], torch.device(cfg.device)
    sums: dict[str, float] = defaultdict(float)
    model.train()
    bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}", leave=False, file=sys.stderr)
    for step, indices in enumerate(bar, 1):
        batch = cache.batch(indices, cfg.augment, gen)
        streams = fog.step(batch, epoch, step, cfg.augment, gen) if fog else {"": batch}
        terms = {}
        for name, part in streams.items():
            part = _to_device(part, device)
            prefix = f"{name}/" if name else ""
            for term, value in objective(model(part.images), part, cfg.loss).items():
                terms[prefix + term] = value
        total = sum(terms.values())
        if not torch.isfinite(total):
            raise FloatingPointError(f"non-finite loss at epoch {epoch + 1} step {step}: {terms}")
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        for name, value in (*terms.items(), ("total", total)):
            sums[name] += float(value.detach())
        bar.set_postfix({k: f"{v / step:.3f}" for k, v in sums.items()})
    return {k: v / max(len(batches), 1) for k, v in sums.items()}


def _to_device(batch: Batch, device: torch.device) -> Batch:
    fields = (f.name for f in dataclasses.fields(batch))
    moved = {n: getattr(batch, n).to(device) for n in fields if getattr(batch, n) is not None}
    return dataclasses.replace(batch, **moved)


def train(cfg: TrainConfig, out_dir: str | Path | None = None) -> Path:
    """Train `cfg.method` as configured; returns the path of `best.pt` in `out_dir`
    (default `cfg.out_dir`). Resumes from `last.pt` there when `cfg.resume`."""
    out = Path(out_dir or cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    handler = _attach_log_file(out / "train.log")
    try:
        return _train(cfg, out)
    finally:
        log.removeHandler(handler)
        handler.close()


def _with_enhancer(cfg: TrainConfig, out: Path) -> TrainConfig:
    """ALSA's first stage: without given EN weights, train the EN (`cfg.enlighten`) into
    `out/enlighten` (resumable) and point the model config at the result."""
    if cfg.method != "alsa" or cfg.enlighten is None or cfg.model.alsa.en_weights is not None:
        return cfg
    log.info("stage 1: training the enhancement network into %s", out / "enlighten")
    weights = train_enhancer(cfg.enlighten, out / "enlighten")
    alsa = dataclasses.replace(cfg.model.alsa, en_weights=weights)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, alsa=alsa))


def _train(cfg: TrainConfig, out: Path) -> Path:
    cfg = _with_enhancer(cfg, out)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    data = read_dataset(cfg.data.root, cfg.data.layout, cfg.data.test_split)
    if not data.train:
        raise DatasetError(f"{cfg.data.root}: no training images (layout {data.layout!r})")
    fog = None
    if cfg.fog is not None:
        fog = FogStreams(cfg.fog, data.train, cfg.data.input_size, cfg.data.p, cfg.data.k, cfg.seed)
    train_samples = fog.synthetic if fog else data.train
    cache = ImageCache(
        train_samples,
        cfg.data.input_size,
        cfg.augment.dark_fraction,
        cfg.augment.dark_factor,
        cfg.seed,
    )
    sampler = PKSampler([s.pid for s in train_samples], cfg.data.p, cfg.data.k, cfg.seed)
    test_images = load_images(data) if data.test else []
    num_ids = data.num_train_ids if cfg.loss.needs_classifier else 0
    model = build_model(cfg.method, cfg.model, num_ids).to(cfg.device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cfg.optim.lr_factor)
    start, best = 0, -math.inf
    if cfg.resume and (out / "last.pt").exists():
        start, best = _resume(out / "last.pt", cfg, model, optimizer, scheduler)
        log.info("resumed from %s at epoch %d", out / "last.pt", start)
    log.info(
        "%s: %s, %d train images / %d ids, %d test images; %d trainable parameters",
        cfg.method,
        data.layout,
        len(data.train),
        data.num_train_ids,
        len(data.test),
        sum(p.numel() for p in params),
    )
    for epoch in range(start, cfg.optim.epochs):
        tic = time.time()
        batches = sampler.batches(epoch)[: cfg.optim.iters_per_epoch]
        terms = _train_epoch(model, cache, batches, cfg, optimizer, epoch, fog)
        scheduler.step()
        log.info(
            "epoch %d/%d %s lr=%.2e %.0fs",
            epoch + 1,
            cfg.optim.epochs,
            " ".join(f"{k}={v:.4f}" for k, v in terms.items()),
            optimizer.param_groups[0]["lr"],
            time.time() - tic,
        )
        metrics: dict[str, float] = {}
        if test_images and ((epoch + 1) % cfg.eval.every == 0 or epoch + 1 == cfg.optim.epochs):
            result = evaluate(
                model,
                data,
                cfg.eval.conditions,
                test_images,
                cfg.data.input_size,
                cfg.eval.batch_size,
                flip=cfg.eval.flip,
            )
            metrics = {f"{c}/{m}": v for c, row in result.items() for m, v in row.items()}
            log.info(
                "eval epoch %d: %s",
                epoch + 1,
                " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k.endswith(("/R1", "/mAP"))),
            )
        improved = bool(metrics) and metrics[cfg.eval.select] > best
        best = metrics[cfg.eval.select] if improved else best
        blob = model_blob(
            cfg.method,
            cfg.model,
            model,
            cfg.data.input_size,
            num_ids,
            epoch=epoch + 1,
            metrics=metrics,
            best=best,
            train_config=plain(cfg),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
        )
        save_checkpoint(out / "last.pt", blob)
        if improved:
            _copy_atomic(out / "last.pt", out / "best.pt")
            log.info("new best %s=%.4f -> %s", cfg.eval.select, best, out / "best.pt")
    if not (out / "best.pt").exists():  # no evaluation split: the last epoch is the best we know
        _copy_atomic(out / "last.pt", out / "best.pt")
    return out / "best.pt"


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _resume(
    path: Path,
    cfg: TrainConfig,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> tuple[int, float]:
    """Load model/optimiser/scheduler state from `path`; returns (next epoch, best score)."""
    blob = read_checkpoint(path)
    if blob["method"] != cfg.method or "optimizer" not in blob:
        raise CheckpointError(
            f"{path} is not a {cfg.method!r} training checkpoint; remove it or set resume: false"
        )
    try:
        model.load_state_dict(blob["state_dict"])
        optimizer.load_state_dict(blob["optimizer"])
    except (RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path} does not match this config: {exc}".splitlines()[0]) from None
    scheduler.load_state_dict(blob["scheduler"])
    return int(blob["epoch"]), float(blob["best"])


def _set_dotted(mapping: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for name in parents:
        mapping = mapping.setdefault(name, {})
        if not isinstance(mapping, dict):
            raise ConfigError(f"override {key!r}: {name!r} is not a section")
    mapping[leaf] = value


def load_train_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a training recipe and apply dotted-key overrides, e.g. {"optim.epochs": 2}."""
    cfg = load_yaml(TrainConfig, path)
    if not overrides:
        return cfg
    raw = plain(cfg)
    for key, value in overrides.items():
        _set_dotted(raw, key, plain(value))
    try:
        return from_mapping(TrainConfig, raw)
    except ConfigError as exc:
        raise ConfigError(f"{path} with overrides: {exc}") from None


def train_from_yaml(config_path: str | Path, overrides: dict[str, Any] | None = None) -> Path:
    """`train(load_train_config(config_path, overrides))`; returns the best checkpoint's path.
    The output folder is the config's `out_dir` (override it with {"out_dir": ...})."""
    return train(load_train_config(config_path, overrides))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m reid.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", help="training recipe, e.g. configs/reid/alsa.yaml")
    parser.add_argument("--out", help="output folder (default: the config's out_dir)")
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",  # a repeated --set adds to the earlier ones
        default=[],
        metavar="KEY=VALUE",
        help="dotted overrides, values in YAML syntax (optim.epochs=5)",
    )
    args = parser.parse_args(argv)
    overrides = {k: yaml.safe_load(v) for k, _, v in (s.partition("=") for s in args.set)}
    if args.out:
        overrides["out_dir"] = args.out
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    print(train_from_yaml(args.config, overrides))


if __name__ == "__main__":
    main()
