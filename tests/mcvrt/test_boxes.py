import numpy as np

from mcvrt.boxes import box_iou


def test_box_iou_values_and_shapes() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    np.testing.assert_allclose(box_iou(a, b), [[1, 50 / 150, 0, 0], [0, 0, 0, 0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 4)
    assert box_iou(a, np.zeros((0, 4))).shape == (2, 0)
