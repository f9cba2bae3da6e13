"""Vehicle detection with ultralytics YOLO; the only module that imports ultralytics.

`--detector` accepts a model name that ultralytics downloads for an online user (`yolo11n.pt`),
a local `.pt` / `.onnx` file, or an exported `*_openvino_model` folder.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np

from mcvrt.config import DetectorConfig
from mcvrt.errors import InputError
from mcvrt.riders import PERSON, TWO_WHEELERS, merge_riders
from mcvrt.types import Detections

LOCAL_WEIGHTS_HINT = (
    "pass local weights with --detector PATH (a .pt/.onnx file or an *_openvino_model folder) "
    "or set MCVRT_DETECTOR"
)


def _check_weights(weights: str) -> None:
    """Reject local paths that cannot be a YOLO model before ultralytics sees them."""
    path = Path(weights)
    if path.is_dir() and not path.name.endswith("_openvino_model"):
        raise InputError(f"detector folder must be an *_openvino_model export: {weights}")
    if not path.exists() and (len(path.parts) > 1 or path.suffix not in (".pt", ".onnx")):
        raise InputError(f"detector weights not found: {weights}; {LOCAL_WEIGHTS_HINT}")


def lowest_confidence(cfg: DetectorConfig) -> float:
    """The lowest threshold any frame or merge uses: the detector keeps boxes down to it."""
    values = [cfg.confidence, cfg.night_confidence, cfg.fog_confidence]
    if cfg.merge_riders:
        values.append(cfg.rider_support_confidence)
    return min(v for v in values if v is not None)


class Detector:
    """BGR image -> `Detections` of the configured COCO vehicle classes.

    Boxes are kept down to `lowest_confidence(cfg)`; the pipeline applies each frame's threshold
    (`cfg.confidence_for(condition)`). With `merge_riders`, persons, bicycles and motorcycles are
    detected too, riders merged into their two-wheelers (`mcvrt.riders`), and what is left
    restricted to the configured classes.
    """

    def __init__(self, cfg: DetectorConfig) -> None:
        _check_weights(cfg.weights)
        from ultralytics import YOLO  # imported lazily: it is slow and noisy to import

        logging.getLogger("ultralytics").setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.model = YOLO(cfg.weights, task="detect")
                # The first call compiles/loads the backend; doing it here surfaces broken
                # weights before any video is decoded.
                self._predict(np.zeros((cfg.image_size, cfg.image_size, 3), np.uint8), cfg)
        except InputError:
            raise
        except Exception as exc:  # ultralytics raises many types for bad or missing weights
            reason = str(exc).strip().lstrip("❌ ").splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"cannot load detector {cfg.weights!r}: {reason}; {LOCAL_WEIGHTS_HINT}"
            ) from None
        self.cfg = cfg

    def _predict(self, image: np.ndarray, cfg: DetectorConfig) -> Detections:
        classes = set(cfg.classes) | ({PERSON, *TWO_WHEELERS} if cfg.merge_riders else set())
        result = self.model.predict(
            image,
            conf=lowest_confidence(cfg),
            iou=cfg.nms_iou,
            imgsz=cfg.image_size,
            classes=sorted(classes),
            device=cfg.device,
            verbose=False,
        )[0]
        dets = from_ultralytics(result)
        if not cfg.merge_riders:
            return dets
        dets = merge_riders(dets)
        return dets[np.isin(dets.class_id, cfg.classes)]

    def __call__(self, image: np.ndarray) -> Detections:
        return self._predict(image, self.cfg)


def from_ultralytics(result: object) -> Detections:
    """Convert one ultralytics `Results` into `Detections` (the only place that sees its types)."""
    boxes = result.boxes  # type: ignore[attr-defined]
    return Detections(
        xyxy=boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
        confidence=boxes.conf.cpu().numpy().astype(np.float32),
        class_id=boxes.cls.cpu().numpy().astype(np.int64),
    )
