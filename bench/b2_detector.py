"""B2 detector wrapper: our `Detector` vs raw ultralytics `YOLO.predict`, same frames and weights.

A ratio near 1 means the wrapper (class filter, conversion to `Detections`) costs nothing.
Only the detector exports present locally are compared (the shared OpenVINO INT8 folders).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import (
    DETECTOR,
    VIDEOS,
    column,
    fmt,
    fmt_ratio,
    interleave,
    parse,
    parser,
    pin_threads,
    ratio,
    read_images,
    report,
    stats,
    timed,
)
from mcvrt.config import DetectorConfig
from mcvrt.detection import Detector

TARGET = 0.9
# tiny inputs: the smoke test and `run_all --quick`
QUICK = ["--frames", "2", "--weights", str(DETECTOR), "--repeats", "1", "--warmup", "0"]


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--weights", nargs="+", type=Path,
                   default=[DETECTOR, DETECTOR.with_name("yolov8n_int8_openvino_model")])
    p.add_argument("--video", type=Path, default=VIDEOS / "intersection_cctv_640x480.mp4")
    p.add_argument("--frames", type=int, default=60, help="frames per measurement")
    p.add_argument("--imgsz", type=int, default=640)
    args, argv = parse(p, argv)
    pin_threads()
    from ultralytics import YOLO

    images = read_images(args.video, args.frames)
    rows, results = [], {}
    for weights in (w for w in args.weights if w.exists()):
        cfg = DetectorConfig(weights=str(weights), image_size=args.imgsz)
        ours = Detector(cfg)
        with contextlib.redirect_stdout(io.StringIO()):
            raw = YOLO(str(weights), task="detect")
        kwargs = dict(conf=cfg.confidence, iou=cfg.nms_iou, imgsz=cfg.image_size,
                      classes=list(cfg.classes), device=cfg.device, verbose=False)
        same = np.allclose(ours(images[0]).xyxy, raw.predict(images[0], **kwargs)[0].boxes.xyxy
                           .cpu().numpy())
        runs = interleave({
            "ours": lambda ours=ours: timed(lambda: [ours(im) for im in images], len(images)),
            "raw": lambda raw=raw, kw=kwargs: timed(
                lambda: [raw.predict(im, **kw) for im in images], len(images)),
        }, args.repeats, args.warmup)
        r = ratio(runs["ours"], runs["raw"])
        results[weights.name] = {"ours_fps": stats(column(runs["ours"])),
                                 "raw_fps": stats(column(runs["raw"])), "ratio": r,
                                 "same_boxes": bool(same)}
        rows.append([weights.name, fmt(results[weights.name]["ours_fps"]["median"], 1),
                     fmt(results[weights.name]["raw_fps"]["median"], 1), fmt_ratio(r),
                     "yes" if r["median"] >= TARGET else "NO", "yes" if same else "NO"])
    return report("b2_detector", f"B2 detector wrapper vs raw YOLO.predict ({len(images)} frames "
                  f"of {args.video.name}, imgsz {args.imgsz}; target ours/raw >= {TARGET})",
                  ["weights", "ours fps", "raw fps", "ours/raw", "holds", "same boxes"],
                  rows, results, args, argv)


if __name__ == "__main__":
    main()
