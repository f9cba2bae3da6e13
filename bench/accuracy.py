"""Accuracy on the scene evaluation set: per-camera IDF1, cross-camera IDF1, oracle-link bound.

Each scene of `bench/scenes/evalset.yaml` is rendered once by `mcvrt.scenario` into
`--cache/<scene>` (again only when its expanded definition, kept there as scene.yaml, changes),
run through the pipeline into `--out/<scene>` and scored by `mcvrt.evaluation`: per-camera IDF1,
the AI City cross-camera IDF1 and the oracle-link bound (the run's per-camera tracks relabelled
with their best ground-truth identity), whose gap to the cross-camera IDF1 is what cross-camera
linking loses. Writes `--out/accuracy.json` (every scene's figures, the pipeline config, the
machine) and `--out/accuracy.md` (per scene, and mean with min-max per condition group).
See docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from bench.common import DETECTOR, ROOT, entry, parse, report
from mcvrt.api import configure, parse_overrides
from mcvrt.config import PipelineConfig
from mcvrt.errors import InputError
from mcvrt.evaluation import evaluate_run
from mcvrt.export import write_json
from mcvrt.scenario import ScenarioConfig, build_scenario
from reid.config import from_mapping
from reid.errors import ConfigError

SCENES = Path(__file__).resolve().parent / "scenes" / "evalset.yaml"
CACHE = ROOT / "runs" / "evalset"
OUT = ROOT / "runs" / "accuracy"
FLIPS = {"x": lambda x, y: (1 - x, y), "y": lambda x, y: (x, 1 - y),
         "xy": lambda x, y: (1 - x, 1 - y)}
ROW_KEYS = {"seed", "duration_s", "vehicles", "two_wheelers", "singles", "cameras", "travel_s"}
TWO_WHEELER_CLASSES = ["car", "motorcycle", "bus", "truck"]


@dataclass(frozen=True)
class Scene:
    """One scene of the set: its `mcvrt.scenario` config mapping and what it varies."""

    name: str
    config: dict[str, Any]  # ScenarioConfig as plain YAML data, paths relative to the project
    views: tuple[str, ...]  # per camera, e.g. "street day x"
    two_wheelers: bool

    @property
    def conditions(self) -> tuple[str, ...]:
        return tuple(c["condition"] for c in self.config["cameras"])

    @property
    def group(self) -> str:
        """"day" when every camera is a day camera, else "night/fog"."""
        return "day" if set(self.conditions) == {"day"} else "night/fog"

    def text(self) -> str:
        """The definition as `mcvrt make-scenario` YAML (what the render cache is keyed on)."""
        return yaml.safe_dump(self.config, sort_keys=False, width=100)


def load_scenes(path: Path = SCENES, seed_offset: int = 0) -> dict[str, Scene]:
    """Every scene of the set file, expanded, each seed + `seed_offset` (another draw of the
    same scenes: other vehicles' order, lanes, timing and noise); ConfigError names a bad row."""
    try:
        data = yaml.safe_load(path.read_text())
        if "base" in data:  # common, views and sensors of another set file, this one's added
            base = yaml.safe_load((path.parent / data.pop("base")).read_text())
            data = {key: {**base.get(key, {}), **data.get(key, {})}
                    for key in ("common", "views", "sensors")} | {"scenes": data["scenes"]}
        common, views, rows = data["common"], data["views"], data["scenes"]
        sensors = data.get("sensors", {})
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"cannot read scene set {path}: {exc}".splitlines()[0]) from None
    scenes = {}
    for name, row in rows.items():
        try:
            seeded = {**row, "seed": row["seed"] + seed_offset} if "seed" in row else row
            scenes[name] = expand(name, seeded, views, common, sensors)
            from_mapping(ScenarioConfig, rooted(scenes[name].config))  # checks every key
        except (ConfigError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: scene {name}: {exc}") from None
    return scenes


def expand(name: str, row: dict[str, Any], views: dict[str, Any], common: dict[str, Any],
           sensors: dict[str, Any] | None = None) -> Scene:
    """A scene row -> three cameras cam1-cam2-cam3 on `views`, linked both ways, driven whole
    or one stretch at a time in either direction."""
    if set(row) != ROW_KEYS or len(row["cameras"]) != 3 or len(row["travel_s"]) != 2:
        raise ConfigError(f"needs exactly the keys {', '.join(sorted(ROW_KEYS))}, with three "
                          "cameras and two travel ranges")
    cameras = [camera(f"cam{n}", spec, views, sensors)
               for n, spec in enumerate(row["cameras"], 1)]
    links = [{"from_camera": f"cam{a}", "to_camera": f"cam{b}", "travel_s": list(travel)}
             for (a, b), travel in zip(((1, 2), (2, 3)), row["travel_s"], strict=True)]
    links += [{"from_camera": k["to_camera"], "to_camera": k["from_camera"],
               "travel_s": k["travel_s"]} for k in links]
    forward = [["cam1", "cam2", "cam3"], ["cam1", "cam2"], ["cam2", "cam3"]]
    crops = dict(common["crops"])
    if row["two_wheelers"]:
        crops["classes"] = TWO_WHEELER_CLASSES
    config = {
        "seed": row["seed"], "fps": common["fps"], "duration_s": row["duration_s"],
        "crops": crops,
        "traffic": {"vehicles": row["vehicles"], "single_camera_fraction": row["singles"],
                    **common["traffic"]},
        "links": links,
        "routes": forward + [route[::-1] for route in forward],
        "cameras": cameras,
    }
    return Scene(name, config, tuple(row["cameras"]), bool(row["two_wheelers"]))


def camera(name: str, spec: str, views: dict[str, Any], sensors: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    """"VIEW CONDITION [FLIP]" -> a camera mapping on that view, mirrored lanes included.

    CONDITION "night:SENSOR" is a night camera recorded by the named low-light sensor of
    `sensors` (`mcvrt.scenario.sensor`)."""
    sensors = sensors or {}
    view_name, condition, *flip = spec.split()
    condition, _, sensor = condition.partition(":")
    if (view_name not in views or len(flip) > 1 or (flip and flip[0] not in FLIPS)
            or (sensor and (condition != "night" or sensor not in sensors))):
        raise ConfigError(f"camera {spec!r} is not 'VIEW CONDITION [x|y|xy]' with VIEW one of "
                          f"{', '.join(views)} and CONDITION day, fog, night or night:SENSOR "
                          f"with SENSOR one of {', '.join(sensors) or '(none defined)'}")
    view = dict(views[view_name])
    if sensor:
        view["sensor"] = dict(sensors[sensor])
    if flip:
        mirror = FLIPS[flip[0]]
        view["lanes"] = [{**lane, "path": [list(mirror(x, y)) for x, y in lane["path"]]}
                         for lane in view["lanes"]]
    return {"name": name, "condition": condition, "flip": flip[0] if flip else "none", **view}


def rooted(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with its relative file paths taken from the project root, not the working
    directory."""
    def at_root(path: str) -> str:
        return str(ROOT / path)

    crops = {**config["crops"], "folder": at_root(config["crops"]["folder"])}
    if "identities" in crops:
        crops["identities"] = at_root(crops["identities"])
    cameras = [{**c, "background": {**c["background"], "video": at_root(c["background"]["video"])}}
               for c in config["cameras"]]
    return {**config, "crops": crops, "cameras": cameras}


def render(scene: Scene, cache: Path) -> Path:
    """The scene rendered into `cache/<name>`, reusing a render of the same definition."""
    folder, text = cache / scene.name, scene.text()
    stamp = folder / "scene.yaml"
    if stamp.is_file() and stamp.read_text() == text and (folder / "scenario.json").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    build_scenario(from_mapping(ScenarioConfig, rooted(scene.config)), folder)
    stamp.write_text(text)  # last: an interrupted render is not taken for a finished one
    return folder


def plain(cfg: PipelineConfig) -> dict[str, Any]:
    """`cfg` as YAML-style data: nested dicts, lists, strings for paths."""
    return json.loads(json.dumps(asdict(cfg), default=str))


def pipeline_config(path: Path | None, sets: Sequence[str], detector: str,
                    reid: str | None = None) -> PipelineConfig:
    """`path` (or the defaults) with `detector`, `reid` (if given) and dotted KEY=VALUE overrides
    (values in YAML syntax, e.g. matching.min_similarity=0.8), checked like a config file."""
    chosen = {"detector.weights": detector} | ({"appearance.embedder.weights": reid} if reid
                                               else {})
    return configure(path, chosen | parse_overrides(sets))


def run_scene(scene_dir: Path, cfg: PipelineConfig, out: Path) -> None:
    """The pipeline over the scene's videos into a fresh `out`."""
    from mcvrt.pipeline import run
    from mcvrt.video import probe_cameras

    shutil.rmtree(out, ignore_errors=True)
    run(cfg, probe_cameras(sorted(scene_dir.glob("cam*.mp4"))), out)


def score(scene: Scene, scene_dir: Path, run_dir: Path) -> dict[str, Any]:
    """Scores of one run (also written to `run_dir/eval.json`) and its speed."""
    try:
        run = json.loads((run_dir / "summary.json").read_text())
    except FileNotFoundError:
        raise InputError(f"no run of scene {scene.name} in {run_dir}: run without --rescore"
                         ) from None
    report_ = evaluate_run(scene_dir, run_dir)
    write_json(run_dir / "eval.json", report_.to_dict())
    cross, oracle = report_.cross_camera.idf1, report_.oracle_link.idf1
    return {
        "views": list(scene.views), "group": scene.group, "two_wheelers": scene.two_wheelers,
        "vehicles": scene.config["traffic"]["vehicles"], "duration_s": scene.config["duration_s"],
        "camera_idf1": {name: s.idf1 for name, s in report_.cameras.items()},
        "conditions": report_.conditions,
        "idf1": report_.by_condition["all"].idf1,
        "cross_idf1": cross, "oracle_link_idf1": oracle,
        "cross_over_oracle": cross / oracle if oracle else float("nan"),
        "id_switches": report_.cross_camera.id_switches,
        "frames": run["frames"], "pipeline_s": run["seconds"], "fps": run["fps"],
    }


GROUPS = {
    "all scenes": lambda s: True,
    "day (every camera)": lambda s: s["group"] == "day",
    "with a night or fog camera": lambda s: s["group"] == "night/fog",
    "cars and trucks": lambda s: not s["two_wheelers"],
    "with two-wheelers": lambda s: s["two_wheelers"],
}
FIGURES = ("idf1", "cross_idf1", "oracle_link_idf1", "cross_over_oracle")


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "mean": statistics.fmean(values), "min": min(values),
            "max": max(values)}


def summary(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean, min and max of each figure per group of scenes, and of per-camera IDF1 per camera
    condition."""
    groups = {}
    for group, member in GROUPS.items():
        rows = [s for s in scores.values() if member(s)]
        if rows:
            groups[group] = {k: spread([r[k] for r in rows]) for k in FIGURES}
    cameras: dict[str, list[float]] = {}
    for s in scores.values():
        for name, idf1 in s["camera_idf1"].items():
            cameras.setdefault(s["conditions"][name], []).append(idf1)
    return {"groups": groups,
            "camera_idf1_by_condition": {k: spread(v) for k, v in sorted(cameras.items())}}


def markdown(scores: dict[str, dict[str, Any]], totals: dict[str, Any], title: str) -> str:
    """Per-scene table, then mean (min-max) per group of scenes and per camera condition."""
    def cell(s: dict[str, float]) -> str:
        return f"{s['mean']:.3f} ({s['min']:.3f}-{s['max']:.3f})"

    lines = [f"### {title}", "",
             "| scene | cam1 / cam2 / cam3 | vehicles | s | per-camera IDF1 | IDF1 | "
             "cross-camera IDF1 | oracle-link bound | cross / oracle |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, s in scores.items():
        per_camera = " / ".join(f"{v:.3f}" for v in s["camera_idf1"].values())
        wheels = " + 2W" if s["two_wheelers"] else ""
        lines.append(f"| {name} | {' / '.join(s['views'])} | {s['vehicles']}{wheels} | "
                     f"{s['duration_s']} | {per_camera} | {s['idf1']:.3f} | "
                     f"{s['cross_idf1']:.3f} | {s['oracle_link_idf1']:.3f} | "
                     f"{s['cross_over_oracle']:.2f} |")
    lines += ["", "| scenes | n | IDF1 | cross-camera IDF1 | oracle-link bound | "
              "cross / oracle |", "|---|---|---|---|---|---|"]
    lines += [f"| {group} | {g['idf1']['n']} | " + " | ".join(cell(g[k]) for k in FIGURES) + " |"
              for group, g in totals["groups"].items()]
    lines += ["", "| cameras | n | per-camera IDF1 |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {cell(v)} |"
              for k, v in totals["camera_idf1_by_condition"].items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scenes", nargs="+", metavar="NAME", help="a subset (default: all)")
    p.add_argument("--scene-file", type=Path, default=SCENES, help="the set's definition")
    p.add_argument("--seed-offset", type=int, default=0, metavar="N",
                   help="add N to every scene's seed: a held-out draw of the same set (the "
                   "docs' second, third and fourth seeds are 1000, 2000 and 3000)")
    p.add_argument("--cache", type=Path,
                   help=f"rendered scenes, kept between runs (None: {CACHE.parent}/ and the "
                   "scene file's name, e.g. evalset, with _seedN after it with --seed-offset N)")
    p.add_argument("--out", type=Path, default=OUT, help="run folders and results")
    p.add_argument("--config", type=Path, help="pipeline YAML (default: configs/default.yaml)")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                   help="pipeline config overrides, e.g. matching.min_similarity=0.8")
    p.add_argument("--reid", help="embedder: a shipped model name (default: the config's, "
                   "alsa_night), color-histogram, a reid checkpoint or auto")
    p.add_argument("--detector", help=f"YOLO weights (default: {DETECTOR})")
    p.add_argument("--rescore", action="store_true",
                   help="score the run folders already in --out, without running the pipeline")
    args, argv = parse(p, argv)
    scenes = load_scenes(args.scene_file, args.seed_offset)
    cache = args.cache or CACHE.with_name(
        args.scene_file.stem + (f"_seed{args.seed_offset}" if args.seed_offset else ""))
    unknown = sorted(set(args.scenes or ()) - set(scenes))
    if unknown:
        raise InputError(f"unknown scene {unknown[0]!r}; the set has {', '.join(scenes)}")
    chosen = [scenes[n] for n in args.scenes or scenes]
    pipeline_options = [f"--{k}" for k, v in (("config", args.config), ("set", args.set),
                         ("reid", args.reid), ("detector", args.detector)) if v]
    if args.rescore and pipeline_options:
        raise InputError(f"--rescore scores the runs already in {args.out}; "
                         f"pipeline options ({', '.join(pipeline_options)}) do not apply")
    cfg = pipeline_config(args.config, args.set, args.detector or str(DETECTOR), args.reid)
    if not args.rescore:
        from mcvrt.appearance import load_embed

        load_embed(cfg.appearance)  # a bad --reid fails before hours of work, not after
    scores, timing = {}, {}
    start = time.perf_counter()
    bar = tqdm(chosen, desc="scenes", unit="scene", disable=False)
    for scene in bar:
        bar.set_postfix_str(f"{scene.name}: render")
        t = time.perf_counter()
        folder = render(scene, cache)
        timing[scene.name] = {"render_s": round(time.perf_counter() - t, 1)}
        if not args.rescore:
            bar.set_postfix_str(f"{scene.name}: run")
            t = time.perf_counter()
            run_scene(folder, cfg, args.out / scene.name)
            timing[scene.name]["run_s"] = round(time.perf_counter() - t, 1)
        bar.set_postfix_str(f"{scene.name}: score")
        scores[scene.name] = score(scene, folder, args.out / scene.name)
    total = round(time.perf_counter() - start, 1)
    setting = (f"rescored runs of {args.out}" if args.rescore else
               f"embedder {cfg.appearance.embedder.weights}" + "".join(f", {s}" for s in args.set))
    title = f"{setting}, {len(chosen)} scenes"
    totals = summary(scores)
    (args.out / "accuracy.md").write_text(markdown(scores, totals, title))
    rows = [[name, " / ".join(f"{v:.3f}" for v in s["camera_idf1"].values()),
             f"{s['cross_idf1']:.3f}", f"{s['oracle_link_idf1']:.3f}",
             f"{s['cross_over_oracle']:.2f}"] for name, s in scores.items()]
    digest = hashlib.sha256(args.scene_file.read_bytes()).hexdigest()[:12]
    results = {"scene_file": str(args.scene_file), "scene_file_sha256": digest,
               "seed_offset": args.seed_offset,
               "pipeline": None if args.rescore else plain(cfg), "seconds": total, "timing": timing,
               "scenes": scores} | totals
    return report("accuracy", f"Accuracy on the evaluation set ({title}; {total:.0f} s)",
                  ["scene", "per-camera IDF1", "cross IDF1", "oracle-link", "cross/oracle"],
                  rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.accuracy")
