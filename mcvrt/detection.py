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


class Detector:
    """BGR image -> `Detections` of the configured COCO vehicle classes."""

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
        result = self.model.predict(
            image,
            conf=cfg.confidence,
            iou=cfg.nms_iou,
            imgsz=cfg.image_size,
            classes=list(cfg.classes),
            device=cfg.device,
            verbose=False,
        )[0]
        return from_ultralytics(result)

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
