"""Benchmarks of the course's helpers against a forward pass and against other libraries.

Run them all with ``python -m helpers.benchmarks`` (``make benchmark``); ``--only filters``,
``--only cams``, ``--only widgets``, ``--only core_path``, ``--only methods``, ``--only memory`` or
``--only xray`` runs one,
``--quick`` runs smaller, noisier versions. Each module exposes
``run(quick: bool) -> str`` returning a Markdown report. Benchmarks never run in ``make test``.

Taught in: ``02_filter_visualization``, ``03_class_activation_maps`` and ``04_beyond_grad_cam`` (the notes on
speed).
"""

MODULES: tuple[str, ...] = ("filters", "cams", "widgets", "core_path", "methods", "memory", "xray")
"""Benchmark modules, in the order ``python -m helpers.benchmarks`` runs them."""
