"""ReID across day and night street cameras: UIT val R1 / mAP with one camera's photos recorded
by each night sensor of the evaluation set.

The UIT val identities have one photo per camera; here the second camera's photos go through a
sensor of `bench/scenes/evalset.yaml` (`mcvrt.scenario.sensor.expose`: blur, a short exposure
with shot and read noise, muted colour, a blue cast), the first camera's stay as taken, and the
camera-swap protocol ranks each camera's photos against the other's: a day camera against a night
one, as in the scenes' `VIEW night:SENSOR` cameras. `original` is both cameras by day.

    python -m bench.night_reid --reid alsa runs/reid/alsa_night/best.pt
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from bench.accuracy import SCENES
from bench.common import SHARED, entry, fmt, parse, parser, report
from mcvrt.scenario.config import SensorConfig
from mcvrt.scenario.sensor import expose
from reid.data.datasets import read_dataset
from reid.embedder import EmbedderConfig, load_embedder
from reid.evaluate import load_images, score

DATA = SHARED / "reid" / "uit_vehicle_reid_train"


def night_photos(images: list[np.ndarray], cameras: np.ndarray, sensor: SensorConfig,
                 seed: int = 0) -> list[np.ndarray]:
    """The photos of the last camera recorded by `sensor`, the others as they are."""
    rng = np.random.default_rng(seed)
    night = cameras.max()
    return [expose(im, sensor, rng) if c == night else im
            for im, c in zip(images, cameras, strict=True)]


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--reid", nargs="+", default=["alsa"],
                   help="embedders: shipped names, checkpoint paths or baselines")
    p.add_argument("--data", type=Path, default=DATA,
                   help="a UIT-layout dataset (its val split is used)")
    args, argv = parse(p, argv)
    sensors = yaml.safe_load(SCENES.read_text())["sensors"]
    data = read_dataset(args.data, None, None)
    images = load_images(data)
    cameras = np.array([s.camid for s in data.test])
    conditions = {"original": images} | {
        name: night_photos(images, cameras, SensorConfig(**values))
        for name, values in sensors.items()}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for weights in args.reid:
        embed = load_embedder(EmbedderConfig(weights=weights))
        results[weights] = {c: score(embed(photos), data) for c, photos in conditions.items()}
    headers = ["embedder", *(f"{c} R1 / mAP" for c in conditions)]
    rows = [[w, *(f"{fmt(100 * m[c]['R1'], 1)} / {fmt(100 * m[c]['mAP'], 1)}" for c in conditions)]
            for w, m in results.items()]
    return report("night_reid", "UIT val, the second camera by each night sensor", headers, rows,
                  results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.night_reid")
