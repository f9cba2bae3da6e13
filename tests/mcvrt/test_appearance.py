import numpy as np

from mcvrt.appearance import embed_detections, new_objects, rows_to_embed
from mcvrt.config import AppearanceConfig
from mcvrt.types import Detections


def dets(boxes: list[list[float]]) -> Detections:
    n = len(boxes)
    return Detections(xyxy=np.asarray(boxes, np.float32).reshape(n, 4),
                      confidence=np.full(n, 0.9, np.float32), class_id=np.full(n, 2, np.int64))


def mean_colour(crops: list[np.ndarray]) -> np.ndarray:
    """A 3-d stand-in embedder: the mean colour of each crop, unit norm."""
    v = np.array([c.reshape(-1, 3).mean(0) for c in crops], np.float32).reshape(-1, 3)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def test_embed_detections_embeds_the_chosen_rows_and_zeroes_the_rest() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[:50, :50] = (0, 0, 255)
    image[50:, 50:] = (255, 0, 0)
    d = dets([[0, 0, 40, 40], [60, 60, 100, 100], [0, 0, 4, 4]])
    out = embed_detections(image, d, mean_colour, min_crop_px=8)
    np.testing.assert_allclose(out.embedding, [[0, 0, 1], [1, 0, 0], [0, 0, 0]])  # 4 px: too small
    out = embed_detections(image, d, mean_colour, min_crop_px=8, rows=np.array([False, True, True]))
    np.testing.assert_allclose(out.embedding, [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    assert embed_detections(image, d, mean_colour, rows=np.zeros(3, bool)).embedding.shape == (3, 3)


def test_new_objects_overlap_no_previous_box() -> None:
    previous = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    now = np.array([[1, 0, 11, 10], [56, 50, 66, 60], [80, 80, 90, 90]], np.float32)
    # IoU with the previous boxes: 9/11, 4/16 = 0.25 (< 0.3: new), 0 (new)
    assert new_objects(now, previous).tolist() == [False, True, True]
    assert new_objects(now, np.zeros((0, 4), np.float32)).tolist() == [True] * 3
    assert new_objects(np.zeros((0, 4), np.float32), previous).tolist() == []


def test_rows_to_embed_leaves_out_occluded_crops_but_not_new_objects() -> None:
    previous = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32)
    # boxes 0 and 1 cover 30 % of each other (occluded); 0 and 3 continue previous boxes, 1
    # (IoU 0.18 with previous box 0) and 2 are new
    now = np.array([[0, 0, 10, 10], [7, 0, 17, 10], [40, 0, 50, 10], [20, 0, 30, 10]],
                   np.float32)
    cfg = AppearanceConfig()
    assert rows_to_embed(now, previous, True, cfg).tolist() == [False, True, True, True]
    assert rows_to_embed(now, previous, False, cfg).tolist() == [False, True, True, False]
    every = AppearanceConfig(skip_occluded=False)
    assert rows_to_embed(now, previous, True, every).tolist() == [True] * 4
    assert not rows_to_embed(now, previous, False, AppearanceConfig(embed_new=False)).any()
