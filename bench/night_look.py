"""How a rendered night camera compares with a real night clip: brightness, noise, colour.

Per video, over frames sampled evenly: median luma, temporal noise std (robust: 1.4826 x the
median absolute difference of consecutive frames' luma / sqrt 2, so static scenery only), median
HSV saturation, mean blue minus red; and a side-by-side PNG of one frame of each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from mcvrt.conditions import FRAME_THRESHOLDS, classify


def frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` pairs of consecutive frames spread over the video, flattened."""
    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for start in np.linspace(0, total - 2, count).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(start))
        for _ in range(2):
            ok, image = cap.read()
            if ok:
                out.append(image)
    cap.release()
    return out


def look(images: list[np.ndarray]) -> dict[str, float]:
    """Brightness, noise, saturation, blue cast and the share estimated night."""
    luma = [cv2.cvtColor(i, cv2.COLOR_BGR2GRAY).astype(np.float32) for i in images]
    diffs = [np.median(np.abs(a - b)) for a, b in zip(luma[::2], luma[1::2], strict=False)]
    hsv = [cv2.cvtColor(i, cv2.COLOR_BGR2HSV) for i in images]
    return {
        "median_luma": float(np.median([np.median(v) for v in luma])) / 255,
        "noise_std": float(1.4826 * np.median(diffs) / np.sqrt(2)),
        "saturation": float(np.median([np.median(h[..., 1]) for h in hsv])) / 255,
        "blue_minus_red": float(np.mean([i[..., 0].mean() - i[..., 2].mean() for i in images])),
        "night_share": float(np.mean([classify(i, FRAME_THRESHOLDS) == "night" for i in images])),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--png", type=Path, help="side-by-side of the middle frame of each, 240 px")
    p.add_argument("--count", type=int, default=20, help="frame pairs per video")
    args = p.parse_args()
    tiles = []
    for path in args.videos:
        images = frames(path, args.count)
        stats = look(images)
        print(path.name, " ".join(f"{k} {v:.3f}" for k, v in stats.items()))
        middle = images[len(images) // 2]
        tiles.append(cv2.resize(middle, (240, round(240 * middle.shape[0] / middle.shape[1]))))
    if args.png:
        height = max(t.shape[0] for t in tiles)
        row = [cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 4, cv2.BORDER_CONSTANT)
               for t in tiles]
        cv2.imwrite(str(args.png), np.hstack(row), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    main()
