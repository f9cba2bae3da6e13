"""Vehicle detection with ultralytics YOLO; the only module that imports ultralytics.

`--detector` accepts a model name that ultralytics downloads for an online user (`yolo11n.pt`),
a local `.pt` / `.onnx` file, or an exported `*_openvino_model` folder.

`detector.upscale` > 1 gives small vehicles more pixels where `image_size` cannot grow (exports
with a fixed 640x640 input): besides the whole frame, overlapping squares of
`image_size / upscale` frame pixels are enlarged to the model input and detected, and the passes
are merged by class-aware NMS.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from mcvrt.boxes import box_iou
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
    values = [cfg.confidence, cfg.night_confidence, cfg.fog_confidence, cfg.night_track_confidence,
              *cfg.night_class_confidence.values(), *cfg.night_class_track_confidence.values()]
    if cfg.merge_riders:
        values.append(cfg.rider_support_confidence)
    return min(v for v in values if v is not None)


def lowest_frame_threshold(cfg: DetectorConfig) -> float:
    """The lowest confidence threshold a frame applies (rider support boxes excluded)."""
    values = (cfg.confidence, cfg.night_confidence, cfg.fog_confidence)
    return min(v for v in values if v is not None)


class Detector:
    """BGR image -> `Detections` of the configured COCO vehicle classes.

    Boxes are kept down to `lowest_confidence(cfg)`; the pipeline applies each frame's threshold
    (`cfg.confidence_for(condition)`). With `merge_riders`, persons, bicycles and motorcycles are
    detected too, riders merged into their two-wheelers (`mcvrt.riders`), and what is left
    restricted to the configured classes. With `agnostic_nms`, a box overlapping a more
    confident one of another class is dropped (YOLO often boxes one vehicle as car and truck)
    and the kept box grows to cover it (`fuse_across_classes`).
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
            text = str(exc).strip()
            reason = text.lstrip("❌ ").splitlines()[0] if text else type(exc).__name__
            raise InputError(
                f"cannot load detector {cfg.weights!r}: {reason}; {LOCAL_WEIGHTS_HINT}"
            ) from None
        self.cfg = cfg

    def _pass(self, image: np.ndarray, cfg: DetectorConfig) -> Detections:
        """One forward pass of the model over `image`."""
        classes = set(cfg.classes) | ({PERSON, *TWO_WHEELERS} if cfg.merge_riders else set())
        result = self.model.predict(
            image,
            conf=lowest_confidence(cfg),
            iou=cfg.nms_iou,
            imgsz=cfg.image_size,
            classes=sorted(classes),
            device=cfg.device,
            verbose=False,
            **fp16_on_cuda(cfg.device),
        )[0]
        return from_ultralytics(result)

    def _tiles(self, image: np.ndarray, cfg: DetectorConfig) -> list[Detections]:
        """Detections of each upscaled tile, in frame pixels, without boxes cut by a tile edge."""
        h, w = image.shape[:2]
        side = round(cfg.image_size / cfg.upscale)
        out = []
        for x, y in tile_origins((w, h), side):
            tile = cv2.resize(image[y : y + side, x : x + side], None, fx=cfg.upscale,
                              fy=cfg.upscale, interpolation=cv2.INTER_LINEAR)
            dets = self._pass(tile, cfg)
            box = dets.xyxy / cfg.upscale + np.array([x, y, x, y], np.float32)
            x2, y2 = min(x + side, w), min(y + side, h)
            # a box touching an inner edge is cut; another tile or the whole frame sees it whole
            cut = (((box[:, 0] <= x + 1) & (x > 0)) | ((box[:, 1] <= y + 1) & (y > 0))
                   | ((box[:, 2] >= x2 - 1) & (x2 < w)) | ((box[:, 3] >= y2 - 1) & (y2 < h)))
            out.append(replace(dets, xyxy=box.astype(np.float32))[~cut])
        return out

    def _predict(self, image: np.ndarray, cfg: DetectorConfig) -> Detections:
        dets = self._pass(image, cfg)
        if cfg.upscale > 1:
            dets = merge_passes([dets, *self._tiles(image, cfg)], cfg.nms_iou)
        if cfg.merge_riders:
            dets = merge_riders(dets)
            dets = dets[np.isin(dets.class_id, cfg.classes)]
        if cfg.agnostic_nms and len(dets):
            # across classes only now: a rider's person box must not suppress the bike beneath it
            dets = fuse_across_classes(dets, cfg.nms_iou, lowest_frame_threshold(cfg))
        return dets

    def __call__(self, image: np.ndarray) -> Detections:
        return self._predict(image, self.cfg)


def tile_origins(size_wh: tuple[int, int], side: int) -> list[tuple[int, int]]:
    """Top-left corners of `side`-px squares covering a frame, neighbours overlapping by >= half."""

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        count = math.ceil((length - side) / (side / 2)) + 1
        return np.linspace(0, length - side, count).round().astype(int).tolist()

    return [(x, y) for y in starts(size_wh[1]) for x in starts(size_wh[0])]


def fp16_on_cuda(device: str) -> dict[str, object]:
    """`predict` arguments for half precision on a CUDA device (exports keep their own precision);
    none on CPU. Newer ultralytics names the setting `quantize`, older ones `half`."""
    if not str(device).startswith("cuda"):
        return {}
    from ultralytics.cfg import DEFAULT_CFG_DICT

    return {"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True}


def nms_keep(dets: Detections, nms_iou: float, agnostic: bool = False) -> np.ndarray:
    """Sorted row indices that survive non-maximum suppression within each class (or across
    classes if `agnostic`)."""
    xywh = np.c_[dets.xyxy[:, :2], dets.xyxy[:, 2:] - dets.xyxy[:, :2]].tolist()
    classes = np.zeros_like(dets.class_id) if agnostic else dets.class_id
    keep = cv2.dnn.NMSBoxesBatched(xywh, dets.confidence.tolist(), classes.tolist(), 0.0, nms_iou)
    return np.sort(np.asarray(keep, np.int64).reshape(-1))


def fuse_across_classes(dets: Detections, nms_iou: float, min_confidence: float = 0.0
                        ) -> Detections:
    """Class-agnostic NMS whose kept boxes grow to cover the boxes they suppress; order kept.

    YOLO often boxes one vehicle twice, as car and as truck, with nearly the same box: the more
    confident one keeps its class and confidence, and its box becomes the union of the two, so
    dropping the duplicate does not drop its better-placed edges with it. Only suppressed boxes
    of at least `min_confidence` (boxes a frame could output) widen a kept one.
    """
    keep = nms_keep(dets, nms_iou, agnostic=True)
    dropped = np.setdiff1d(np.arange(len(dets)), keep)
    xyxy = dets.xyxy.copy()
    if len(dropped) and len(keep):
        overlap = box_iou(dets.xyxy[dropped], dets.xyxy[keep]) > nms_iou
        # greedy NMS: a box is suppressed by the most confident kept box overlapping it enough
        score = np.where(overlap, dets.confidence[keep][None, :], -1.0)
        for row, i in enumerate(dropped):
            if overlap[row].any() and dets.confidence[i] >= min_confidence:
                j = keep[np.argmax(score[row])]
                xyxy[j, :2] = np.minimum(xyxy[j, :2], dets.xyxy[i, :2])
                xyxy[j, 2:] = np.maximum(xyxy[j, 2:], dets.xyxy[i, 2:])
    return replace(dets, xyxy=xyxy)[keep]


def merge_passes(passes: list[Detections], nms_iou: float) -> Detections:
    """Several passes' detections of one frame, duplicates removed by class-aware NMS."""
    merged = Detections(xyxy=np.concatenate([d.xyxy for d in passes]),
                        confidence=np.concatenate([d.confidence for d in passes]),
                        class_id=np.concatenate([d.class_id for d in passes]))
    return merged[nms_keep(merged, nms_iou)]


def from_ultralytics(result: object) -> Detections:
    """Convert one ultralytics `Results` into `Detections` (the only place that sees its types)."""
    boxes = result.boxes  # type: ignore[attr-defined]
    return Detections(
        xyxy=boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
        confidence=boxes.conf.cpu().numpy().astype(np.float32),
        class_id=boxes.cls.cpu().numpy().astype(np.int64),
    )
