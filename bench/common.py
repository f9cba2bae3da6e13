"""Shared benchmark plumbing: pinned threads, interleaved repeats, machine facts, table and JSON.

Every figure is a ratio against a peer or ceiling measured in the same run. Cases run in rounds
(A, B, A, B, ..., the order rotated each round) after warm-ups; a ratio is the median over rounds
of the per-round ratio, so the drift of a shared machine largely cancels out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import THREADS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DETECTOR = SHARED / "weights" / "yolo11n_int8_openvino_model"
VIDEOS = SHARED / "videos"
CROPS = SHARED / "reid" / "uit_vehicle_reid_train" / "images"
RESULTS = ROOT / "bench" / "results"
PACKAGES = ("numpy", "scipy", "opencv-python", "torch", "torchvision", "openvino", "ultralytics",
            "trackers", "supervision", "lap", "filterpy", "networkx", "motmetrics", "psutil")
START_LOAD = os.getloadavg()

Metrics = dict[str, float]
Case = Callable[[], Metrics]


def pin_threads(threads: int = THREADS) -> None:
    """Pin OpenCV's thread pool, and torch's when torch is loaded, to `threads`."""
    import cv2

    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark shares."""
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--repeats", type=int, default=3, help="measured rounds (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured runs of each case first")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None
          ) -> tuple[argparse.Namespace, list[str]]:
    """Parsed arguments and the argument list they came from (recorded in the JSON)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return p.parse_args(argv), argv


def entry(main: Callable[[], object], name: str) -> None:
    """Run a benchmark's `main` as a command: bad input (a missing video, unusable weights, a
    failed benchmark under `run_all`) is one error line and exit code 2, not a traceback."""
    from mcvrt.errors import McvrtError
    from reid.errors import ReidError

    try:
        main()
    except (McvrtError, ReidError, subprocess.CalledProcessError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(2)


def timed(fn: Callable[[], Any], units: float) -> Metrics:
    """Wall seconds of `fn()` and `units` per second."""
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rate": units / seconds}


def interleave(cases: dict[str, Case], repeats: int, warmup: int = 1) -> dict[str, list[Metrics]]:
    """Run each case `warmup` times, then `repeats` rounds of all cases in rotating order."""
    names = list(cases)
    for name in names:
        for _ in range(warmup):
            cases[name]()
    runs: dict[str, list[Metrics]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            runs[name].append(cases[name]())
            shown = ", ".join(f"{k}={v:.4g}" for k, v in runs[name][-1].items()
                              if isinstance(v, (int, float)))
            print(f"  round {r + 1}/{repeats} {name}: {shown}", file=sys.stderr, flush=True)
    return runs


def stats(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def column(runs: Sequence[Metrics], key: str = "rate") -> list[float]:
    return [r[key] for r in runs]


def ratio(a: Sequence[Metrics], b: Sequence[Metrics], key: str = "rate") -> dict[str, float]:
    """Stats of the per-round ratio a/b (rounds paired in order)."""
    return stats([x[key] / y[key] for x, y in zip(a, b, strict=True)])


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def fmt_ratio(r: dict[str, float]) -> str:
    """'median (min-max)' of a ratio."""
    return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with right-aligned columns (first column left-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """CPU, load, library versions, thread settings and commit, for the JSON record."""
    cpu = platform.processor()
    if Path("/proc/cpuinfo").is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    import cv2

    threads: dict[str, Any] = {"bench": THREADS, "cv2": cv2.getNumThreads()}
    threads |= {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                 "OPENBLAS_NUM_THREADS")}
    if "torch" in sys.modules:
        threads["torch"] = sys.modules["torch"].get_num_threads()
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_start": START_LOAD,
        "load_average_end": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "threads": threads,
        "commit": git.stdout.strip() or None,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def report(name: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           results: dict[str, Any], args: argparse.Namespace, argv: Sequence[str]
           ) -> dict[str, Any]:
    """Print the table and write `<args.out>/<name>.json`; returns the JSON payload."""
    text = table(headers, rows)
    print(f"\n{title}\n{text}\n")
    payload = {
        "benchmark": name,
        "title": title,
        "command": shlex.join(["python", "-m", f"bench.{name}", *argv]),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine(),
        "table": {"headers": list(headers), "rows": [[str(c) for c in r] for r in rows],
                  "text": text},
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return payload


def read_images(video: Path, frames: int) -> list:
    """The first `frames` decoded BGR frames of `video`."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    images = []
    while len(images) < frames:
        ok, image = cap.read()
        if not ok:
            break
        images.append(image)
    cap.release()
    return images


class ProcessMeter:
    """Peak resident memory (MB) and CPU seconds of this process plus the children it starts.

    Children that already ran on entry (a fork server, a helper pool) are left out. Children are
    sampled every `interval_s`, so a child's last CPU moments before it exits may be missed.
    """

    def __init__(self, interval_s: float = 0.05) -> None:
        import psutil

        self.interval_s, self.peak_mb, self.cpu_s = interval_s, 0.0, 0.0
        self._me = psutil.Process()
        self._before = {c.pid for c in self._me.children(recursive=True)}
        self._start_cpu = sum(self._me.cpu_times()[:2])
        self._child_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while True:
            rss = self._me.memory_info().rss
            for child in self._me.children(recursive=True):
                if child.pid in self._before:
                    continue
                try:
                    rss += child.memory_info().rss
                    self._child_cpu[child.pid] = sum(child.cpu_times()[:2])
                except psutil.Error:
                    pass  # the child exited between listing and reading
            self.peak_mb = max(self.peak_mb, rss / 2**20)
            own = sum(self._me.cpu_times()[:2]) - self._start_cpu
            self.cpu_s = own + sum(self._child_cpu.values())
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> ProcessMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
