"""Benchmarks of the course's helpers against a forward pass and against other libraries.

Run them all with ``python -m helpers.benchmarks`` (``make benchmark``); ``--only filters``,
``--only cams``, ``--only widgets`` or ``--only core_path`` runs one, ``--quick`` runs smaller, noisier versions. Each module exposes
``run(quick: bool) -> str`` returning a Markdown report. Benchmarks never run in ``make test``.

Taught in: ``02_filter_visualization`` and ``03_class_activation_maps`` (the notes on speed).
"""

MODULES: tuple[str, ...] = ("filters", "cams", "widgets", "core_path")
"""Benchmark modules, in the order ``python -m helpers.benchmarks`` runs them."""
