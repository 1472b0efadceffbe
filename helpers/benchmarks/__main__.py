"""``python -m helpers.benchmarks [--only filters|cams] [--quick]``: print Markdown tables.

Runs every benchmark module of :data:`helpers.benchmarks.MODULES` in one process and prints
each one's report. A module that cannot be imported (not written yet, or missing a
dependency) is reported as skipped, with the reason, instead of stopping the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from helpers.benchmarks import MODULES


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen benchmarks, print their reports; return 0."""
    parser = argparse.ArgumentParser(prog="python -m helpers.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=MODULES, action="append",
                        help="run only this benchmark (repeatable); default: all")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer repetitions: faster, noisier numbers")
    args = parser.parse_args(argv)
    for name in args.only or MODULES:
        try:
            module = importlib.import_module(f"helpers.benchmarks.{name}")
        except ImportError as err:
            if name == "filters":  # ours must import; a missing one elsewhere is only skipped
                raise
            print(f"## {name}: skipped ({type(err).__name__}: {err})\n", flush=True)
            continue
        start = time.perf_counter()
        report = module.run(quick=args.quick)
        print(report.rstrip() + "\n", flush=True)
        print(f"_{name} benchmark took {time.perf_counter() - start:.0f} s._\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
