"""B9 bounded memory: two cameras stream an hour of video each; peak RSS at each minute of video.

Each camera is a shared clip played back to back for `--minutes` (its packets copied, not
re-encoded, into one long file under `--work`, made once), run by `mcvrt.pipeline.run` with the
real detector and the default embedder, every `--stride`-th frame, one worker process per camera
as `mcvrt run` does. Every detector call samples its process's RSS; each camera's running peak is
logged at every minute of its video. The parent (which matches the hour's tracklets at the end)
is sampled every second. Target: the workers' summed peak after 60 minutes within 10 % of it
after 10 minutes (frames are not kept; tracklets grow only with the vehicles seen).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DETECTOR, VIDEOS, entry, fmt, parse, parser, pin_threads, report
from mcvrt.config import DetectorConfig, PipelineConfig
from mcvrt.pipeline import run
from mcvrt.types import Detections
from mcvrt.video import probe_cameras

TARGET = 1.10
MB = 2**20


def loop_video(src: Path, dst: Path, seconds: float) -> Path:
    """`src` played back to back for at least `seconds`, as Matroska `dst` (packets copied with
    shifted timestamps, so it takes well under a second); an existing `dst` is reused."""
    import av

    if dst.is_file():
        return dst
    part = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, av.open(str(part), "w", format="matroska") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        packets = [(p.pts, p.dts, bytes(p), p.is_keyframe, p.duration)
                   for p in inp.demux(stream) if p.size]
        pts = [p[0] for p in packets]
        span = max(pts) - min(pts) + (packets[-1][4] or pts[1] - pts[0])  # one play, in ticks
        loop = 0
        while loop * span * stream.time_base < seconds:
            for p_pts, p_dts, data, key, duration in packets:
                packet = av.Packet(data)
                packet.pts = p_pts + loop * span
                packet.dts = None if p_dts is None else p_dts + loop * span
                packet.is_keyframe, packet.duration = key, duration
                packet.stream, packet.time_base = copy, stream.time_base
                out.mux(packet)
            loop += 1
    part.replace(dst)
    return dst


@dataclass
class MeteredDetect:
    """The configured detector; each call also samples this process's RSS and, at each new
    minute of the camera's video (`stride` frames a call), appends the running peak to `log`.

    Cameras are told apart by frame size (`cameras`: (w, h) -> (camera id, fps)).
    """

    detector: DetectorConfig
    log: Path
    cameras: dict[tuple[int, int], tuple[str, float]]
    stride: int
    _calls: Counter[str] = field(default_factory=Counter)
    _peak: int = 0
    _state: dict[str, Any] = field(default_factory=dict)  # per process: detector, psutil handle

    def __call__(self, image: np.ndarray) -> Detections:
        if not self._state:
            import psutil

            from mcvrt.detection import Detector

            self._state.update(detect=Detector(self.detector), process=psutil.Process())
        camera, fps = self.cameras[(image.shape[1], image.shape[0])]
        self._calls[camera] += 1
        calls = self._calls[camera]
        rss = self._state["process"].memory_info().rss
        self._peak = max(self._peak, rss)
        minute = int(calls * self.stride / fps // 60)
        if minute > int((calls - 1) * self.stride / fps // 60):
            with self.log.open("a") as f:
                f.write(json.dumps({"camera": camera, "minute": minute, "calls": calls,
                                    "rss_mb": rss / MB, "peak_mb": self._peak / MB,
                                    "wall_s": time.time()}) + "\n")
        return self._state["detect"](image)


def sample_parent(stop: threading.Event, peak: list[int]) -> None:
    """Keep this process's peak RSS in `peak[0]`, sampled every second until `stop`."""
    import psutil

    process = psutil.Process()
    while not stop.wait(1.0):
        peak[0] = max(peak[0], process.memory_info().rss)


def main(argv: Sequence[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--videos", nargs=2, type=Path,
                   default=[VIDEOS / "intersection_cctv_640x480.mp4",
                            VIDEOS / "highway_cctv_320x240.avi"],
                   help="one clip per camera (their frame sizes must differ)")
    p.add_argument("--minutes", type=int, default=60, help="video per camera")
    p.add_argument("--stride", type=int, default=6, help="process every N-th frame")
    p.add_argument("--reference", type=int, default=10, help="minute that growth is measured from")
    p.add_argument("--detector", default=str(DETECTOR))
    p.add_argument("--work", type=Path, default=Path("/tmp/mcvrt-b9"),
                   help="long videos (kept) and the run's outputs")
    args, argv = parse(p, argv)
    pin_threads()
    args.work.mkdir(parents=True, exist_ok=True)
    seconds = args.minutes * 60 + 1
    videos = [loop_video(v, args.work / f"{v.stem}_{args.minutes}min.mkv", seconds)
              for v in args.videos]
    cfg = PipelineConfig()
    cfg = replace(cfg, input=replace(cfg.input, stride=args.stride),
                  detector=replace(cfg.detector, weights=args.detector))
    cameras = probe_cameras(videos, camera_ids=[v.stem for v in args.videos])
    if len({c.size_wh for c in cameras}) != len(cameras):
        raise SystemExit("b9: the clips need different frame sizes")
    log = args.work / "rss.jsonl"
    log.unlink(missing_ok=True)
    detect = MeteredDetect(cfg.detector, log, {c.size_wh: (c.id, c.fps) for c in cameras},
                           args.stride)
    stop, parent = threading.Event(), [0]
    sampler = threading.Thread(target=sample_parent, args=(stop, parent), daemon=True)
    sampler.start()
    start = time.perf_counter()
    result = run(cfg, cameras, args.work / "run", detect=detect)
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    rows_log = [json.loads(line) for line in log.read_text().splitlines()]
    peaks = {c.id: {r["minute"]: r["peak_mb"] for r in rows_log if r["camera"] == c.id}
             for c in cameras}
    minutes = sorted(set.intersection(*(set(m) for m in peaks.values())))
    total = {m: sum(peaks[c][m] for c in peaks) for m in minutes}
    last = minutes[-1]
    reference = min(args.reference, last)
    growth = total[last] / total[reference]
    tracklet_mb = sum(t.frames.nbytes + t.xyxy.nbytes + t.confidence.nbytes + t.embedding.nbytes
                      for t in result.tracklets) / MB
    rows = [[m, *(fmt(peaks[c][m], 0) for c in peaks), fmt(total[m], 0)]
            for m in minutes if m in (1, 2, 5, reference, last) or m % 10 == 0]
    results = {
        "videos": [v.name for v in args.videos], "minutes": args.minutes, "stride": args.stride,
        "frames_processed": result.frames, "wall_s": wall, "tracklets": len(result.tracklets),
        "tracklet_arrays_mb": tracklet_mb, "parent_peak_mb": parent[0] / MB,
        "peak_mb_by_minute": {"workers": total, **peaks},
        "reference_minute": reference, "growth": growth, "holds": growth <= TARGET,
        "cameras": [{"id": c.id, "decoded": c.frame_count, "fps": c.fps} for c in result.cameras],
    }
    return report(
        "b9_memory",
        f"B9 memory, 2 cameras x {args.minutes} min ({', '.join(v.name for v in args.videos)} "
        f"looped), stride {args.stride}: {result.frames} frames in {wall / 60:.0f} min; peak RSS "
        f"(MB) per camera worker at each minute of video; minute {last} / minute {reference} = "
        f"{growth:.3f} (target <= {TARGET}); parent peak {parent[0] / MB:.0f} MB after matching "
        f"{len(result.tracklets)} tracklets ({tracklet_mb:.1f} MB of arrays)",
        ["minute", *peaks, "workers"], rows, results, args, argv)


if __name__ == "__main__":
    entry(main, "bench.b9_memory")
