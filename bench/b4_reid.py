"""B4 ReID throughput: plain backbone vs ALSA vs SJDL embedders on the same crops and batch sizes.

Crops are real vehicle crops (the UIT two-camera set); "dark" ones are the same crops x0.3
(`reid.degrade.darken`, ALSA's darker protocol). Every model runs through the pipeline's
`TorchEmbedder` (resize, RGB, [0, 1], `model.embed`), untrained (speed does not depend on the
weights; ALSA's GCA skip depends on the image only). ALSA on normal-light crops should cost
little more than the plain backbone (GCA lets bright crops skip the enhancement network), and
SJDL at inference is the plain backbone (its defogging branch only trains). The colour histogram
(the default embedder) is listed for scale. The fps cap assumes 10 vehicles embedded per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.common import (
    CROPS,
    Case,
    column,
    entry,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    pin_threads,
    ratio,
    report,
    stats,
    timed,
)

ALSA_TARGET, SJDL_TARGET = 1.3, 1.05
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--crops", "4", "--batch-sizes", "2", "--repeats", "1", "--warmup", "0"]
VEHICLES_PER_FRAME = 10
# name -> (arch, input height, width, ALSA EN width, trunk width, GCA threshold): the shipped
# ALSA model's inference settings (reid/MODEL_CARD.md; every model sees the same input), the
# earlier from-scratch CPU setting and the papers'
SETTINGS = {"cpu": ("mobilenetv2", 144, 144, 8, 1280, 0.7),
            "resnet18": ("resnet18", 128, 96, 8, 512, 0.8),
            "paper": ("resnet50", 256, 128, 32, 2048, 0.8)}


def load_crops(folder: Path, n: int) -> list[np.ndarray]:
    """The first `n` crops (sorted by name) as BGR images."""
    import cv2

    paths = sorted(folder.glob("*.jpg"))[:n]
    if len(paths) < n:
        raise SystemExit(f"need {n} crops in {folder}, found {len(paths)}")
    return [cv2.imread(str(p)) for p in paths]


def embedders(setting: str, batch: int) -> dict:
    """name -> `TorchEmbedder` of each model for `setting`, plus the colour histogram."""
    from reid import ColorHistogramEmbedder
    from reid.checkpoint import TorchEmbedder
    from reid.models import BackboneConfig, ModelConfig, build_model
    from reid.models.alsa import ALSAConfig

    arch, h, w, en_width, width, gca = SETTINGS[setting]
    head = ModelConfig(BackboneConfig(arch, embed_dim=512, neck="bnneck"),
                       ALSAConfig(en_width, gca_threshold=gca))
    sjdl = ModelConfig(BackboneConfig(arch, embed_dim=width))  # GAP + BN-neck: the trunk width
    out = {name: TorchEmbedder(build_model(name, sjdl if name == "sjdl" else head), (h, w), name,
                               batch_size=batch)
           for name in ("baseline", "alsa", "sjdl")}
    return {**out, "color-histogram": ColorHistogramEmbedder()}


def embed_case(embed: Callable[[list[np.ndarray]], np.ndarray], crops: list[np.ndarray]) -> Case:
    return lambda: timed(lambda: embed(crops), len(crops))


def en_share(alsa_embedder: object, crops: list[np.ndarray], size: tuple[int, int]) -> float:
    """Share of `crops` for which ALSA's GCA runs the enhancement network."""
    import cv2
    import torch

    x = torch.from_numpy(np.stack([cv2.cvtColor(cv2.resize(c, size[::-1]), cv2.COLOR_BGR2RGB)
                                   for c in crops])).permute(0, 3, 1, 2).float() / 255
    with torch.inference_mode():
        index = alsa_embedder.model.correction.correct(x).index  # type: ignore[attr-defined]
    return index.numel() / len(crops)


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--crops", type=int, default=64, help="crops per measurement")
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 16])
    p.add_argument("--settings", nargs="+", default=["cpu"], choices=sorted(SETTINGS))
    p.add_argument("--crop-dir", type=Path, default=CROPS)
    args, argv = parse(p, argv)
    import torch

    from reid.degrade import darken

    pin_threads()
    torch.manual_seed(0)
    normal = load_crops(args.crop_dir, args.crops)
    dark = [darken(c) for c in normal]
    rows, results = [], {}
    for setting in args.settings:
        for batch in args.batch_sizes:
            models = embedders(setting, batch)
            cases: dict[str, Case] = {
                "baseline": embed_case(models["baseline"], normal),
                "alsa_normal": embed_case(models["alsa"], normal),
                "alsa_dark": embed_case(models["alsa"], dark),
                "sjdl": embed_case(models["sjdl"], normal),
                "color_histogram": embed_case(models["color-histogram"], normal),
            }
            runs = interleave(cases, args.repeats, args.warmup)
            size = SETTINGS[setting][1:3]
            key = f"{setting}_batch{batch}"
            results[key] = {
                "arch": SETTINGS[setting][0], "input_hw": size, "en_width": SETTINGS[setting][3],
                "en_share_normal": en_share(models["alsa"], normal, size),
                "en_share_dark": en_share(models["alsa"], dark, size),
                **{name: {"img_per_s": stats(column(v)),
                          "cost_vs_baseline": ratio(runs["baseline"], v)}
                   for name, v in runs.items()}}
            for name in runs:
                cost = results[key][name]["cost_vs_baseline"]
                target = {"alsa_normal": ALSA_TARGET, "sjdl": SJDL_TARGET}.get(name)
                holds = "" if target is None else "yes" if cost["median"] <= target else "NO"
                rate = results[key][name]["img_per_s"]["median"]
                rows.append([f"{setting} b{batch}", name, fmt(rate, 1), fmt_ratio(cost),
                             fmt(rate / VEHICLES_PER_FRAME, 1), holds])
    return report("b4_reid",
                  f"B4 ReID throughput, {args.crops} UIT crops; cost = baseline img/s / model "
                  f"img/s (targets: ALSA normal <= {ALSA_TARGET}, SJDL <= {SJDL_TARGET})",
                  ["setting", "embedder", "img/s", "cost vs baseline", "fps cap @10 veh",
                   "holds"], rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b4_reid")
