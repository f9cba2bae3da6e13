"""B7 speed vs accuracy: detector stride and `appearance.embed_every` 1, 2, 4 against IDF1.

With `embed_every` > 1 each setting runs without and with `appearance.embed_new` (new objects
also embedded on the frames in between).

The rendered scenario (`configs/scenarios/default.yaml`: three cameras, real vehicle crops, exact
ground truth) runs through probe + `run` with the real detector for each setting. Speed is paired
per round with the first setting (stride 1, every 1 by default); IDF1 comes from
`mcvrt.evaluation` (per camera over all cameras, and cross-camera with global ids). With stride k
the output has boxes on every k-th frame only and the frames in between count as misses: that is
the accuracy a user of that setting gets. "IDF1 processed" scores the same run against the ground
truth of the processed frames only: the tracking quality on the frames it saw."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.common import (
    DETECTOR,
    Case,
    Metrics,
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
)
from mcvrt.config import PipelineConfig
from mcvrt.evaluation import evaluate_run
from mcvrt.pipeline import run
from mcvrt.video import probe_cameras

Setting = tuple[int, int, bool]  # stride, embed_every, embed_new
SETTINGS: list[Setting] = [(1, 1, False), (2, 1, False), (4, 1, False), (1, 2, False),
                           (1, 2, True), (1, 4, False), (1, 4, True)]
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--settings", "2,2", "--max-frames", "4", "--repeats", "1"]


def render(scenario: Path, cache: Path) -> Path:
    """The scenario rendered once into `cache` (keyed by the config text)."""
    from mcvrt.scenario import ScenarioConfig, build_scenario
    from reid.config import load_yaml

    key = hashlib.sha256(scenario.read_bytes()).hexdigest()[:12]
    out = cache / f"{scenario.stem}-{key}"
    if not (out / "scenario.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        build_scenario(load_yaml(ScenarioConfig, scenario), out)
    return out


def processed_truth(scene: Path, stride: int, out: Path) -> Path:
    """A copy of the scenario's ground truth keeping only every `stride`-th frame (1-based ids)."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(scene / "scenario.json", out / "scenario.json")
    for path in (scene / "gt").rglob("*.txt"):
        column = 2 if path.name == "multicamera.txt" else 0
        sep = " " if path.name == "multicamera.txt" else ","
        kept = [line for line in path.read_text().splitlines()
                if (int(line.split(sep)[column]) - 1) % stride == 0]
        target = out / path.relative_to(scene)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(f"{line}\n" for line in kept))
    return out


def setting(text: str) -> Setting:
    """'stride,embed_every' or 'stride,embed_every,new' -> (stride, embed_every, embed_new)."""
    stride, every, *new = text.split(",")
    if new not in ([], ["new"]):
        raise ValueError(f"expected stride,embed_every[,new], got {text!r}")
    return int(stride), int(every), bool(new)


def setting_name(s: Setting) -> str:
    return f"stride {s[0]}, embed every {s[1]}" + (" + new objects" if s[2] else "")


def setting_case(scene: Path, cfg: PipelineConfig, out: Path) -> Case:
    """probe + `run` over the scenario's videos; the first call also scores the run."""
    scores: dict[str, float] = {}

    def case() -> Metrics:
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        cameras = probe_cameras(sorted(scene.glob("*.mp4")), max_frames=cfg.input.max_frames)
        result = run(cfg, cameras, out)
        metrics = {"rate": result.frames * cfg.input.stride / (time.perf_counter() - start)}
        if not scores:
            full = evaluate_run(scene, out)
            seen = evaluate_run(processed_truth(scene, cfg.input.stride, out / "truth"), out)
            scores.update(idf1=full.by_condition["all"].idf1,
                          cross_idf1=full.cross_camera.idf1,
                          id_switches=full.by_condition["all"].id_switches,
                          idf1_processed=seen.by_condition["all"].idf1,
                          cross_idf1_processed=seen.cross_camera.idf1)
        return metrics | scores

    return case


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.set_defaults(warmup=0)
    p.add_argument("--scenario", type=Path,
                   default=Path(__file__).resolve().parents[1] / "configs" / "scenarios"
                   / "default.yaml")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mcvrt-bench",
                   help="where the rendered scenario is kept between runs")
    p.add_argument("--settings", nargs="+", type=setting, default=SETTINGS,
                   help="stride,embed_every[,new] (new: embed_new on); the first is the "
                   "reference")
    p.add_argument("--max-frames", type=int, help="frames per camera (default: all)")
    p.add_argument("--detector", default=str(DETECTOR))
    p.add_argument("--reid", default=None, help="embedder: a reid checkpoint (default: colour "
                   "histogram)")
    args, argv = parse(p, argv)
    pin_threads()
    scene = render(args.scenario, args.cache)
    base = PipelineConfig()
    base = replace(base, input=replace(base.input, max_frames=args.max_frames),
                   detector=replace(base.detector, weights=args.detector))
    if args.reid:
        base = replace(base, appearance=replace(base.appearance, embedder=replace(
            base.appearance.embedder, weights=args.reid)))
    with tempfile.TemporaryDirectory(prefix="mcvrt-b7-") as tmp:
        cases = {setting_name((s, e, n)): setting_case(scene, replace(
            base, input=replace(base.input, stride=s),
            appearance=replace(base.appearance, embed_every=e, embed_new=n)),
            Path(tmp) / f"s{s}e{e}n{int(n)}") for s, e, n in args.settings}
        runs = interleave(cases, args.repeats, args.warmup)
    reference = next(iter(runs.values()))
    rows, results = [], {"scenario": str(scene)}
    for name, v in runs.items():
        first = v[0]
        results[name] = {"video_fps": stats(column(v)), "speed_vs_first": ratio(v, reference),
                         **{k: first[k] for k in ("idf1", "cross_idf1", "id_switches",
                                                  "idf1_processed", "cross_idf1_processed")}}
        rows.append([name, fmt(results[name]["video_fps"]["median"], 1),
                     fmt_ratio(results[name]["speed_vs_first"]), fmt(first["idf1"], 3),
                     f"{first['idf1'] - reference[0]['idf1']:+.3f}", fmt(first["cross_idf1"], 3),
                     f"{first['cross_idf1'] - reference[0]['cross_idf1']:+.3f}",
                     fmt(first["idf1_processed"], 3), fmt(first["cross_idf1_processed"], 3),
                     int(first["id_switches"])])
    return report("b7_speed_accuracy",
                  f"B7 speed vs accuracy on {args.scenario.name} ({len(list(scene.glob('*.mp4')))} "
                  f"cameras), embedder {args.reid or 'colour histogram'}; video fps = video frames "
                  "covered per second",
                  ["setting", "video fps", "speed vs first", "IDF1", "dIDF1", "cross IDF1",
                   "d cross", "IDF1 processed", "cross processed", "ID sw"],
                  rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b7_speed_accuracy")
