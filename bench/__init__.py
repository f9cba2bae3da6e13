"""Benchmarks B1-B8 (see bench/README.md); run one with `python -m bench.<script>`.

Importing this package pins the math libraries' thread pools before numpy, torch or OpenCV load:
`MCVRT_BENCH_THREADS` (default: the usable CPU cores) becomes OMP/MKL/OpenBLAS_NUM_THREADS.
"""

import os

THREADS = int(os.environ.get("MCVRT_BENCH_THREADS", len(os.sched_getaffinity(0))
                             if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars inside timed runs
