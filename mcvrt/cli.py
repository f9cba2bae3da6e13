"""Command line: `mcvrt run`, and the commands of the other stages.

Bad input raises McvrtError / ReidError, printed as one line on stderr with exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mcvrt.api import parse_overrides
from mcvrt.errors import McvrtError, ReidError

DETECTOR_ENV = "MCVRT_DETECTOR"


def _command(
    sub: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help shows every option's default."""
    return sub.add_parser(
        name, help=summary, description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _add_set(p: argparse.ArgumentParser, metavar: str, help: str) -> None:
    """A repeatable ``--set KEY=VALUE`` option (read with `mcvrt.api.parse_overrides`)."""
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar=metavar, help=help)


def _run_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "run",
        "track vehicles in every camera and give each one global identity",
        "Detect, track and re-identify vehicles across cameras; write CSV/JSON results.",
    )
    p.add_argument("--videos", nargs="+", required=True, metavar="VIDEO",
                   help="video files or glob patterns, one per camera")
    p.add_argument("--camera-ids", nargs="+", metavar="ID",
                   help="camera ids in video order (default: file stems)")
    p.add_argument("--time-offsets", nargs="+", type=float, metavar="S",
                   help="per-camera clock offsets in seconds, added to frame times")
    p.add_argument("--config", type=Path,
                   help="pipeline YAML (default: configs/default.yaml values)")
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder")
    p.add_argument("--detector", help="YOLO weights: model name, .pt/.onnx file or "
                   f"*_openvino_model folder (default: ${DETECTOR_ENV} if set, else the config's)")
    p.add_argument("--reid", help="appearance model: a shipped model (alsa_night: the "
                   "default, alsa, sjdl), a reid checkpoint path, 'auto' "
                   "(ALSA, and a night expert for night cameras; twice the embedding), "
                   "'color-histogram' or 'imagenet:mobilenetv2' (untrained ImageNet features; "
                   "baselines)")
    p.add_argument("--device", help="cpu, cuda or cuda:N for detector and ReID")
    p.add_argument("--max-frames", type=int, help="decode at most N frames per camera")
    p.add_argument("--stride", type=int, help="process every N-th frame")
    p.add_argument("--topology", type=Path, help="YAML of per-camera-pair transition windows")
    p.add_argument("--save-video", action="store_true", help="write annotated videos")
    _add_set(p, "KEY=VALUE", "config overrides in YAML syntax, dotted keys of "
             "configs/default.yaml, e.g. matching.min_similarity=0.8 output.gallery=false "
             "(repeatable; the options above win over --set, --set over $" + DETECTOR_ENV + ")")
    p.add_argument("--runner", choices=("local", "processes", "ray"),
                   help="how cameras execute (default: the config's input.runner, processes)")
    p.add_argument("--ray-address", metavar="auto|HOST:PORT",
                   help="Ray cluster to run the cameras on (implies --runner ray)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the tracklets of cameras an interrupted or earlier run into --out "
                   "finished, where video and configuration are unchanged")
    p.set_defaults(func=_cmd_run)


def _overrides(cfg, args: argparse.Namespace):  # cfg: PipelineConfig, imported lazily
    """Apply the per-run flags to the loaded config through dataclasses.replace."""
    det, app, inp = cfg.detector, cfg.appearance, cfg.input
    if args.detector:
        det = replace(det, weights=args.detector)
    if args.device:
        det = replace(det, device=args.device)
        app = replace(app, embedder=replace(app.embedder, device=args.device))
    if args.reid:
        app = replace(app, embedder=replace(app.embedder, weights=args.reid))
    if args.max_frames is not None:
        inp = replace(inp, max_frames=args.max_frames)
    if args.stride is not None:
        inp = replace(inp, stride=args.stride)
    if args.runner or args.ray_address:
        inp = replace(inp, runner=args.runner or "ray")
    ray = replace(cfg.ray, address=args.ray_address) if args.ray_address else cfg.ray
    matching = replace(cfg.matching, topology=args.topology) if args.topology else cfg.matching
    output = replace(cfg.output, save_video=True) if args.save_video else cfg.output
    return replace(cfg, detector=det, appearance=app, input=inp, matching=matching, output=output,
                   ray=ray)


def _cmd_run(args: argparse.Namespace) -> int:
    from mcvrt.api import configure
    from mcvrt.pipeline import run
    from mcvrt.video import expand_videos, probe_cameras

    env = os.environ.get(DETECTOR_ENV)
    overrides = ({"detector.weights": env} if env else {}) | parse_overrides(args.set)
    cfg = _overrides(configure(args.config, overrides), args)  # flags > --set > environment
    if args.ray_address and cfg.input.runner != "ray":
        raise McvrtError(f"--ray-address needs --runner ray, not {cfg.input.runner}")
    cameras = probe_cameras(
        expand_videos(args.videos), args.camera_ids, args.time_offsets, cfg.input.max_frames
    )
    result = run(cfg, cameras, args.out, resume=args.resume)
    per_cam = ", ".join(f"{c.id}: {c.frame_count} frames" for c in result.cameras)
    resumed = sum(entry["resumed"] for entry in result.per_camera.values())
    print(
        f"cameras: {len(result.cameras)} ({per_cam})\n"
        f"tracklets: {len(result.tracklets)}  global ids: {result.identities}\n"
        f"processed {result.frames} camera-frames in {result.seconds:.1f} s "
        f"= {result.fps:.1f} frames/s"
        + (f" ({resumed} cameras resumed from the cache)" if resumed else "") + "\n"
        f"outputs: {args.out}"
    )
    return 0


def _rematch_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "rematch",
        "redo the cross-camera association of a finished run from its stored tracklets",
        "Re-associate the tracklets `mcvrt run` stored in RUN_DIR (tracklets.npz / .json) with "
        "another topology, matching settings or the user's must/cannot-links, and write "
        "tracks.csv, mot/, multicamera.txt, graph.json, summary.json and report.html (with the "
        "run's stored crops; no gallery or videos). Nothing is decoded, detected or tracked "
        "again.",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of `mcvrt run`")
    p.add_argument("--out", type=Path, required=True, help="output folder (may be RUN_DIR)")
    p.add_argument("--topology", type=Path, help="YAML of per-camera-pair transition windows")
    _add_set(p, "matching.KEY=VALUE",
             "matching overrides in YAML syntax, e.g. matching.min_similarity=0.8 (repeatable)")
    p.add_argument("--must-link", nargs="+", default=[], metavar="CAM:TRACK=CAM:TRACK",
                   help="tracklets that are one vehicle (camera id : per-camera track id)")
    p.add_argument("--cannot-link", nargs="+", default=[], metavar="CAM:TRACK=CAM:TRACK",
                   help="tracklets that are different vehicles")
    p.set_defaults(func=_cmd_rematch)


def _tracklet_pair(flag: str, text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    """``CAM:TRACK=CAM:TRACK`` as two tracklet keys; McvrtError when it is not that."""
    keys = []
    for side in text.split("="):
        camera, _, track = side.rpartition(":")
        if not camera or not track.isdigit():
            break
        keys.append((camera, int(track)))
    if len(keys) != 2 or text.count("=") != 1:
        raise McvrtError(f"{flag} expects CAM:TRACK=CAM:TRACK, got {text!r}")
    return keys[0], keys[1]


def _cmd_rematch(args: argparse.Namespace) -> int:
    from mcvrt.association import Links
    from mcvrt.pipeline import rematch

    matching: dict = {"topology": str(args.topology)} if args.topology else {}
    for key, value in parse_overrides(args.set).items():
        section, _, name = key.partition(".")
        if section != "matching" or not name:
            raise McvrtError(f"--set expects matching.KEY=VALUE (only matching settings change "
                             f"without re-running), got {key!r}")
        matching[name] = value
    links = Links(tuple(_tracklet_pair("--must-link", x) for x in args.must_link),
                  tuple(_tracklet_pair("--cannot-link", x) for x in args.cannot_link))
    result = rematch(args.run_dir, args.out, matching, links)
    print(f"tracklets: {len(result.tracklets)}  global ids: {result.identities}  "
          f"matched in {result.stage_seconds['match']:.2f} s\noutputs: {args.out}")
    return 0


def _eval_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "eval",
        "score a run against ground truth (MOTA, IDF1 per camera; cross-camera IDF1)",
        "Per-camera MOT metrics and AI-City cross-camera identity measures of a run, and the "
        "oracle-link bound: the run's per-camera tracks relabelled with the ground-truth "
        "identity each matches in most frames, scored cross-camera (what perfect linking of "
        "these tracks would reach). Adds the metrics to RUN/report.html when the run wrote one.",
    )
    p.add_argument("--gt", type=Path, required=True,
                   help="AI-City ground-truth file, or a scenario folder (gt/ + scenario.json)")
    p.add_argument("--run", type=Path, required=True, help="output folder of `mcvrt run`")
    p.add_argument("--iou", type=float, default=0.5, help="IoU needed for a box to match")
    p.add_argument("--json", type=Path, help="write the report here (default: RUN/eval.json)")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    from mcvrt.evaluation import evaluate_run, format_report
    from mcvrt.export import write_json
    from mcvrt.report import REPORT, write_report

    report = evaluate_run(args.gt, args.run, args.iou)
    print(format_report(report))
    write_json(args.json or args.run / "eval.json", report.to_dict())
    if (args.run / REPORT).is_file():  # the run wrote a report: draw it again with the metrics
        write_report(args.run, report.to_dict())
    return 0


def _train_reid_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "train-reid",
        "train a ReID model (ALSA for low light, SJDL for fog) from a recipe",
        "Train a reid model from a YAML recipe; keeps best.pt and last.pt, resumes "
        "from last.pt. The method's recipe is configs/reid/<method>.yaml unless --config is given.",
    )
    p.add_argument("--method", default="alsa", help="alsa, sjdl or baseline (picks the recipe)")
    p.add_argument("--config", type=Path, help="training recipe YAML (overrides --method's recipe)")
    p.add_argument("--data", type=Path, help="dataset folder (overrides data.root)")
    p.add_argument("--out", type=Path, help="output folder (overrides out_dir)")
    p.add_argument("--epochs", type=int, help="overrides optim.epochs")
    _add_set(p, "KEY=VALUE", "dotted overrides in YAML syntax, e.g. optim.lr=3e-4 data.p=8 "
             "(repeatable)")
    p.set_defaults(func=_cmd_train_reid)


def _cmd_train_reid(args: argparse.Namespace) -> int:
    import logging

    from mcvrt.config import CONFIGS
    from reid.train import train_from_yaml

    config = args.config or CONFIGS / "reid" / f"{args.method}.yaml"
    if not config.is_file():
        raise McvrtError(f"training recipe not found: {config}")
    overrides = parse_overrides(args.set)
    flags = (("data.root", args.data), ("out_dir", args.out), ("optim.epochs", args.epochs))
    for key, value in flags:
        if value is not None:
            overrides[key] = str(value) if isinstance(value, Path) else value
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    print(f"best checkpoint: {train_from_yaml(config, overrides)}")
    return 0


def _eval_reid_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "eval-reid",
        "CMC@1/5/10 and mAP of a ReID checkpoint on a dataset, clear and degraded",
        "Rank metrics of a reid checkpoint (or a baseline) on a dataset's test "
        "split, on the original images and on darkened / fogged copies.",
    )
    p.add_argument("--reid", required=True, help="checkpoint path, or a baseline: "
                   "'color-histogram', 'imagenet:mobilenetv2' (untrained ImageNet features)")
    p.add_argument("--data", type=Path, required=True, help="dataset folder")
    p.add_argument("--layout", help="veri, vehicleid, veri-wild, fvrid, uit, list, folder "
                   "(default: detected from the folder)")
    p.add_argument("--test-split", help="layout-specific test list (e.g. VehicleID 800)")
    p.add_argument("--conditions", nargs="+", default=["original", "dark", "fog"],
                   help="image conditions: original, darker, dark, low-light, fog, fog-real")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--flip", action="store_true",
                   help="average each crop's embedding with its mirror image's")
    p.add_argument("--json", type=Path, help="also write the metrics here")
    p.set_defaults(func=_cmd_eval_reid)


def _cmd_eval_reid(args: argparse.Namespace) -> int:
    from mcvrt.export import write_json
    from reid.evaluate import eval_reid, format_table

    result = eval_reid(args.reid, args.data, args.layout, args.test_split, args.conditions,
                       args.device, flip=args.flip)
    print(format_table({Path(args.reid).name: result}, metrics=("R1", "R5", "R10", "mAP")))
    if args.json:
        write_json(args.json, result)
    return 0


def _make_scenario_parser(sub: argparse._SubParsersAction) -> None:
    p = _command(
        sub,
        "make-scenario",
        "render a multi-camera scenario (videos + exact ground truth) from real crops",
        "Render N virtual cameras with real vehicle photos on a real background, "
        "with AI-City and MOTChallenge ground truth and a scenario.json.",
    )
    p.add_argument("config", type=Path, nargs="?",
                   help="scenario YAML (default: configs/scenarios/default.yaml)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, help="overrides the scenario's seed")
    p.set_defaults(func=_cmd_make_scenario)


def _cmd_make_scenario(args: argparse.Namespace) -> int:
    from mcvrt.scenario import DEFAULT_SCENARIO, ScenarioConfig, build_scenario
    from reid.config import load_yaml

    cfg = load_yaml(ScenarioConfig, args.config or DEFAULT_SCENARIO)
    if args.seed is not None:
        cfg = replace(cfg, seed=args.seed)
    print(f"scenario: {build_scenario(cfg, args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `mcvrt` argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="mcvrt", description="Multi-camera vehicle tracking and re-identification."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run_parser(sub)
    _rematch_parser(sub)
    _eval_parser(sub)
    _make_scenario_parser(sub)
    _train_reid_parser(sub)
    _eval_reid_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mcvrt` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (McvrtError, ReidError) as exc:
        # one line, whatever the message quotes (a YAML key may hold any line break)
        message = "\\n".join(str(exc).splitlines())
        print(f"mcvrt: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = " (`mcvrt run --resume` continues from the finished cameras)"
        print(f"mcvrt: interrupted{resume if args.command == 'run' else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
