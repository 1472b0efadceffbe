"""Peak memory of the many-pass methods: ``batch_size`` bounds it, not the number of passes.

Each row runs in a fresh Python process (peak RSS is per process): build the model, note the
resident memory, explain one image, read the peak. The report gives the peak RSS growth of the
call, its time, the passes and :func:`helpers.explainers.estimate_cost`'s estimate.

``python -m helpers.benchmarks --only memory``: a 224-px ResNet50 built with ``weights=None``
(no download): occlusion (``patch=16, stride=8``), Integrated Gradients (``steps=256``) and
SmoothGrad (``samples=128``) at ``batch_size=32``. ``--quick``: a small convnet instead.
The test suite uses :func:`measure` on a small model (tests/test_promises.py).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    "occlusion": {"patch": 16, "stride": 8},
    "integrated_gradients": {"steps": 256},
    "smooth_grad": {"samples": 128},
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _model(kind: str, size: int):
    from helpers._backend import keras

    keras.utils.set_random_seed(0)
    if kind == "resnet50":
        return keras.applications.ResNet50(weights=None, input_shape=(size, size, 3), classes=10)
    layers = keras.layers
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255.0)(inputs)
    for filters in (32, 32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    outputs = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="small")


def child(spec: dict) -> dict:
    """Run one measurement in this process (called in a fresh one by :func:`measure`)."""
    import numpy as np

    from helpers.explainers import estimate_cost, get_explainer

    model = _model(spec["model"], spec["size"])
    image = np.random.default_rng(0).uniform(0, 255, (spec["size"], spec["size"], 3)).astype("float32")
    explainer = get_explainer(model, spec["method"], **spec["options"])
    before = _rss_mb()
    start = time.perf_counter()
    explainer.explain(image, batch_size=spec["batch_size"], progress=False)
    first = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    second = None
    if spec.get("second"):
        start = time.perf_counter()
        explainer.explain(image, batch_size=spec["batch_size"], progress=False)
        second = time.perf_counter() - start
    # After the measured call: the estimate's own probe must not set the peak the call is measured against.
    estimate = estimate_cost(model, spec["method"], image, batch_size=spec["batch_size"], repeats=3,
                             **spec["options"]) if spec.get("estimate") else None
    return {"growth_mb": max(0.0, peak - before), "peak_mb": peak, "first_s": first, "second_s": second,
            "passes": int(explainer.passes(spec["size"], spec["size"])),
            "estimate_s": None if estimate is None else estimate["seconds"],
            "compile_s": None if estimate is None else estimate["compile_seconds"]}


def measure(method: str, options: dict, batch_size: int, model: str = "small", size: int = 96,
            estimate: bool = False, second: bool = False, timeout: float = 1800) -> dict:
    """One measurement in a fresh process: ``{"growth_mb", "peak_mb", "first_s", "second_s", ...}``."""
    spec = {"method": method, "options": options, "batch_size": batch_size, "model": model, "size": size,
            "estimate": estimate, "second": second}
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "helpers.benchmarks.memory", "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory benchmark child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> str:
    """The Markdown report of the peak-RSS benchmark."""
    model, size = ("small", 96) if quick else ("resnet50", 224)
    rows = ["## Peak memory of the many-pass methods", "",
            f"One {size}-px image, {'a small convnet' if quick else 'ResNet50 (weights=None)'}, batch_size=32, "
            "each row in a fresh process.", "",
            "| method | options | passes | peak RSS growth (MB) | first call (s) | second call (s) | estimate (s) "
            "| second / estimate | compile (s) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for method, options in CASES.items():
        result = measure(method, options, 32, model=model, size=size, estimate=True, second=True)
        rows.append(f"| {method} | {options} | {result['passes']} | {result['growth_mb']:.0f} | "
                    f"{result['first_s']:.1f} | {result['second_s']:.1f} | {result['estimate_s']:.1f} | "
                    f"{result['second_s'] / result['estimate_s']:.2f} | {result['compile_s']:.1f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows += ["", f"{cores} CPU cores; load average {load:.1f} when the table was done (a shared machine slows "
             "the times, not the memory). The second call's time is the explainer's cost once compiled; "
             "the estimate is estimate_cost's (passes × a measured pass)."]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        print(run(quick="--quick" in sys.argv))
