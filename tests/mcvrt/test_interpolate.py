"""Gap filling of tracklets: exact linear boxes, only for gaps up to the limit."""

import numpy as np

from mcvrt.interpolate import fill_gaps


def test_a_three_frame_gap_gets_exact_linear_boxes(tracklet_factory):
    t = tracklet_factory(frames=[0, 1, 5, 6], xyxy=[[0, 0, 10, 10], [4, 0, 14, 10],
                                                    [20, 8, 30, 18], [24, 8, 34, 18]],
                         confidence=[0.9, 0.5, 0.9, 0.9])
    out = fill_gaps(t, max_gap=3)
    assert out.frames.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert out.xyxy.tolist() == [[0, 0, 10, 10], [4, 0, 14, 10], [8, 2, 18, 12], [12, 4, 22, 14],
                                 [16, 6, 26, 16], [20, 8, 30, 18], [24, 8, 34, 18]]
    assert np.allclose(out.confidence, [0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9])
    assert out.xyxy.dtype == np.float32 and out.confidence.dtype == np.float32
    assert (out.track_id, out.class_id, out.embedding.tolist()) == (t.track_id, t.class_id,
                                                                     t.embedding.tolist())


def test_gaps_longer_than_the_limit_stay_open(tracklet_factory):
    t = tracklet_factory(frames=[0, 4, 5, 10])
    out = fill_gaps(t, max_gap=3)
    assert out.frames.tolist() == [0, 1, 2, 3, 4, 5, 10]  # 3 missing: filled; 4 missing: not
    assert fill_gaps(t, max_gap=0) is t


def test_with_a_stride_only_processed_frames_are_filled(tracklet_factory):
    t = tracklet_factory(frames=[0, 2, 8], xyxy=[[0, 0, 10, 10], [2, 0, 12, 10], [8, 0, 18, 10]])
    out = fill_gaps(t, max_gap=3, step=2)
    assert out.frames.tolist() == [0, 2, 4, 6, 8]
    assert out.xyxy[:, 0].tolist() == [0, 2, 4, 6, 8]
