"""B2 detector wrapper: our `Detector` vs raw ultralytics `YOLO.predict`, same frames and weights.

"plain" is the wrapper with its extras off (no rider merging, no class-agnostic NMS, one
threshold): the same model call as the raw one, so the ratio is the wrapper's own overhead
(conversion to `Detections`) and both must find the same boxes. "default" is the wrapper as
`mcvrt run` uses it (lower thresholds for night / fog frames, persons and bicycles for rider
merging, class-agnostic NMS) against the same raw call: what those extras cost.
Only the detector exports present locally are compared (the shared OpenVINO INT8 folders).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import (
    DETECTOR,
    VIDEOS,
    column,
    entry,
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
    p.add_argument("--frames", type=int, default=200, help="frames per measurement")
    p.add_argument("--imgsz", type=int, default=640)
    args, argv = parse(p, argv)
    pin_threads()
    from ultralytics import YOLO

    images = read_images(args.video, args.frames)
    rows, results = [], {}
    for weights in (w for w in args.weights if w.exists()):
        default = DetectorConfig(weights=str(weights), image_size=args.imgsz)
        plain = replace(default, merge_riders=False, agnostic_nms=False, night_confidence=None,
                        fog_confidence=None, upscale=1.0)
        with contextlib.redirect_stdout(io.StringIO()):
            raw = YOLO(str(weights), task="detect")
        kwargs = dict(conf=plain.confidence, iou=plain.nms_iou, imgsz=plain.image_size,
                      classes=list(plain.classes), device=plain.device, verbose=False)
        detectors = {"plain": Detector(plain), "default": Detector(default)}
        expected = raw.predict(images[0], **kwargs)[0].boxes.xyxy.cpu().numpy()
        got = detectors["plain"](images[0]).xyxy
        same = got.shape == expected.shape and np.allclose(got, expected)
        runs = interleave({
            **{name: lambda d=d: timed(lambda: [d(im) for im in images], len(images))
               for name, d in detectors.items()},
            "raw": lambda raw=raw, kw=kwargs: timed(
                lambda: [raw.predict(im, **kw) for im in images], len(images)),
        }, args.repeats, args.warmup)
        results[weights.name] = {"raw_fps": stats(column(runs["raw"])), "same_boxes": bool(same)}
        for name in detectors:
            r = ratio(runs[name], runs["raw"])
            results[weights.name][name] = {"fps": stats(column(runs[name])), "ratio": r}
            rows.append([weights.name, name, fmt(stats(column(runs[name]))["median"], 1),
                         fmt(results[weights.name]["raw_fps"]["median"], 1), fmt_ratio(r),
                         ("yes" if r["median"] >= TARGET else "NO") if name == "plain" else "",
                         ("yes" if same else "NO") if name == "plain" else ""])
    return report("b2_detector", f"B2 detector wrapper vs raw YOLO.predict ({len(images)} frames "
                  f"of {args.video.name}, imgsz {args.imgsz}; target ours/raw >= {TARGET})",
                  ["weights", "wrapper", "ours fps", "raw fps", "ours/raw", "holds", "same boxes"],
                  rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b2_detector")
