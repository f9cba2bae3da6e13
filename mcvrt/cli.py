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

from mcvrt.errors import McvrtError, ReidError

DETECTOR_ENV = "MCVRT_DETECTOR"


def _run_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="track vehicles in every camera and give each one global identity",
        description="Detect, track and re-identify vehicles across cameras; write CSV/JSON results.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--videos", nargs="+", required=True, metavar="VIDEO",
                   help="video files or glob patterns, one per camera")
    p.add_argument("--camera-ids", nargs="+", metavar="ID",
                   help="camera ids in video order (default: file stems)")
    p.add_argument("--time-offsets", nargs="+", type=float, metavar="S",
                   help="per-camera clock offsets in seconds, added to frame times")
    p.add_argument("--config", type=Path, help="pipeline YAML (default: configs/default.yaml values)")
    p.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder")
    p.add_argument("--detector", help=f"YOLO weights: model name, .pt/.onnx file or *_openvino_model "
                   f"folder (default: ${DETECTOR_ENV} if set, else the config's)")
    p.add_argument("--reid", help="appearance model: 'color-histogram' or a reid checkpoint path")
    p.add_argument("--device", help="cpu, cuda or cuda:N for detector and ReID")
    p.add_argument("--max-frames", type=int, help="decode at most N frames per camera")
    p.add_argument("--stride", type=int, help="process every N-th frame")
    p.add_argument("--topology", type=Path, help="YAML of per-camera-pair transition windows")
    p.add_argument("--save-video", action="store_true", help="write annotated videos")
    p.set_defaults(func=_cmd_run)


def _overrides(cfg, args: argparse.Namespace):  # noqa: ANN001, ANN202 (PipelineConfig, lazily imported)
    """Apply the per-run flags to the loaded config through dataclasses.replace."""
    det, app, inp = cfg.detector, cfg.appearance, cfg.input
    weights = args.detector or os.environ.get(DETECTOR_ENV)  # flag > environment > config
    if weights:
        det = replace(det, weights=weights)
    if args.device:
        det = replace(det, device=args.device)
        app = replace(app, embedder=replace(app.embedder, device=args.device))
    if args.reid:
        app = replace(app, embedder=replace(app.embedder, weights=args.reid))
    if args.max_frames is not None:
        inp = replace(inp, max_frames=args.max_frames)
    if args.stride is not None:
        inp = replace(inp, stride=args.stride)
    matching = replace(cfg.matching, topology=args.topology) if args.topology else cfg.matching
    output = replace(cfg.output, save_video=True) if args.save_video else cfg.output
    return replace(cfg, detector=det, appearance=app, input=inp, matching=matching, output=output)


def _cmd_run(args: argparse.Namespace) -> int:
    from mcvrt.config import load_config
    from mcvrt.pipeline import check_writable, run
    from mcvrt.video import expand_videos, probe_cameras

    cfg = _overrides(load_config(args.config), args)
    cameras = probe_cameras(
        expand_videos(args.videos), args.camera_ids, args.time_offsets, cfg.input.max_frames
    )
    check_writable(args.out)
    result = run(cfg, cameras, args.out)
    per_cam = ", ".join(f"{c.id}: {c.frame_count} frames" for c in result.cameras)
    print(
        f"cameras: {len(result.cameras)} ({per_cam})\n"
        f"tracklets: {len(result.tracklets)}  global ids: {result.identities}\n"
        f"processed {result.frames} camera-frames in {result.seconds:.1f} s "
        f"= {result.fps:.1f} frames/s\n"
        f"outputs: {args.out}"
    )
    return 0


def _eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score a run against ground truth (MOTA, IDF1 per camera; cross-camera IDF1)",
        description="Per-camera MOT metrics and AI-City cross-camera identity measures of a run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
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

    report = evaluate_run(args.gt, args.run, args.iou)
    print(format_report(report))
    write_json(args.json or args.run / "eval.json", report.to_dict())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `mcvrt` argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="mcvrt", description="Multi-camera vehicle tracking and re-identification."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run_parser(sub)
    _eval_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mcvrt` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (McvrtError, ReidError) as exc:
        print(f"mcvrt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mcvrt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
