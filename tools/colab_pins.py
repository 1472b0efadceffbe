"""Write a Colab runtime's pins (``constraints/colab-YYYY.MM.txt``) from a saved copy of its freeze.

Colab publishes the packages of its runtime in the repository googlecolab/backend-info:
``pip-freeze.txt`` (``pip freeze`` of the CPU image) and ``os-info.txt`` (Ubuntu and Python
versions), one commit per change of the image. When Colab moves, save both files of the commit
that made the change and run, for example::

    python tools/colab_pins.py pip-freeze.txt --os-info os-info.txt \\
        --date 2026-08-19 --commit a72407924822ea377410b69f0a290150bcb5c9c2 \\
        --subject "Upgrade to Python 3.13" --default-since 2026-08-25

It writes ``constraints/colab-2026.08.txt`` (the name comes from ``--date``; ``--name`` overrides
it). Every ``constraints/colab-*.txt`` is a runtime ``make test-colab`` tests, on the Python its
header names; the oldest one sets the Setup cell's version floor (``make colab-links``). Delete
the file of a runtime Colab no longer offers.

The file is a pip constraints file: the whole freeze, minus the lines pip cannot take as a
constraint (``name @ URL``), with one change: ``tensorflow`` (Colab's CUDA build) is pinned as
``tensorflow-cpu`` on Linux, the same release without GPU kernels, which is what the test
environment installs. Constraints only choose versions; they never add a package.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints"
# The packages the course and its notebooks use, shown in the file's header.
KEY_PACKAGES = ("python", "tensorflow", "keras", "numpy", "matplotlib", "ipywidgets", "widgetsnbextension",
                "ipython", "ipykernel", "pillow", "tqdm")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
_HEADER = re.compile(r"^# (Python|Source|Freeze date|Default since|Key versions): (.*)$")


def normalize(name: str) -> str:
    """PEP 503 name normalization: ``Jinja2`` -> ``jinja2``, ``ml_dtypes`` -> ``ml-dtypes``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_freeze(text: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """``({normalized name: (name as written, version)}, [lines skipped])`` of a ``pip freeze``.

    Raises:
        ValueError: a line is neither a comment, an ``==`` pin nor a ``name @ URL`` reference,
            or the freeze lacks TensorFlow or Keras.
    """
    pins, skipped = {}, []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if " @ " in line:
            skipped.append(line.split(" @ ")[0].strip())
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"line {number} of the freeze is not 'name==version': {raw!r}")
        pins[normalize(match[1])] = (match[1], match[2])
    for needed in ("tensorflow", "keras"):
        if needed not in pins:
            raise ValueError(f"the freeze has no {needed}==... line: is it Colab's pip-freeze.txt?")
    return pins, skipped


def python_from_os_info(text: str) -> str:
    """``'3.13.15'`` from os-info.txt's ``Python 3.13.15`` line.

    Raises:
        ValueError: no such line.
    """
    match = re.search(r"^Python (\d+\.\d+\.\d+)\s*$", text, re.MULTILINE)
    if not match:
        raise ValueError("os-info.txt has no 'Python X.Y.Z' line; pass --python instead")
    return match[1]


def constraints_text(freeze: str, *, python: str, date: str, commit: str, subject: str = "",
                     default_since: str = "") -> str:
    """The constraints file for one runtime (see the module docstring)."""
    if not re.fullmatch(r"3\.\d+(\.\d+)?", python):
        raise ValueError(f"--python must look like 3.13 or 3.13.15, not {python!r}")
    datetime.date.fromisoformat(date)
    if default_since:
        datetime.date.fromisoformat(default_since)
    if not re.fullmatch(r"[0-9a-f]{7,40}", commit):
        raise ValueError(f"--commit must be the freeze's git commit (hex), not {commit!r}")
    pins, skipped = parse_freeze(freeze)
    versions = {"python": python, **{name: version for name, (_, version) in pins.items()}}
    key = ", ".join(f"{name} {versions[name]}" for name in KEY_PACKAGES if name in versions)
    title = f' "{subject}"' if subject else ""
    lines = [
        "# Google Colab's runtime as `make test-colab` reproduces it: a pip constraints file.",
        "# Written by tools/colab_pins.py from Colab's published freeze; rerun it, do not edit by hand",
        "# (README, \"On Colab\", says how).",
        f"# Source: googlecolab/backend-info, pip-freeze.txt and os-info.txt at commit {commit}{title}",
        f"# Freeze date: {date}",
    ]
    if default_since:
        lines.append(f"# Default since: {default_since}")
    lines += [
        f"# Python: {python}",
        f"# Key versions: {key}",
        "#",
        "# Colab installs `tensorflow` (with CUDA); on Linux the tests install `tensorflow-cpu`, the same",
        "# release without GPU kernels. Left out (pip takes no URL as a constraint): "
        + (", ".join(sorted(skipped, key=normalize)) or "none"),
        "",
    ]
    tensorflow = pins["tensorflow"][1]
    body = [f'tensorflow-cpu=={tensorflow}; sys_platform == "linux"',
            f'tensorflow=={tensorflow}; sys_platform != "linux"']
    body += [f"{written}=={version}" for name, (written, version) in sorted(pins.items())
             if name not in ("tensorflow", "tensorflow-cpu")]
    return "\n".join(lines + body) + "\n"


def read_header(path: pathlib.Path) -> dict[str, str]:
    """The header fields of a constraints file: ``{"Python": "3.13.15", "Source": ..., ...}``."""
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _HEADER.match(line)
        if match:
            fields[match[1]] = match[2].strip()
    return fields


def read_pins(path: pathlib.Path) -> dict[str, str]:
    """``{normalized name: version}`` of a constraints file (markers dropped; tensorflow-cpu kept)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(";")[0].strip()
        match = _PIN.match(line)
        if match:
            pins[normalize(match[1])] = match[2]
    return pins


def runtimes(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The tested runtimes' constraints files, oldest first (by freeze date)."""
    files = list((root / "constraints").glob("colab-*.txt"))
    return sorted(files, key=lambda path: (read_header(path).get("Freeze date", ""), path.name))


# Dev tools Colab lacks and the Colab tests do without (their tests skip; ruff lints once, in CI).
NOT_ON_COLAB = ("tf-keras-vis", "playwright", "ruff", "pytest-xdist")


def test_tools(pyproject: pathlib.Path, constraints: pathlib.Path) -> list[str]:
    """The dev requirements of ``pyproject`` to install beside a Colab runtime: those Colab has
    (pytest, nbconvert, ...) unpinned, so the constraints give Colab's versions; the others pinned.
    """
    import tomllib

    dev = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["dev"]
    colab = read_pins(constraints)
    tools = []
    for requirement in dev:
        name = normalize(re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0])
        if name in NOT_ON_COLAB:
            continue
        tools.append(name if name in colab else requirement)
    return tools


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--test-tools"]:
        if len(argv) != 3:
            print("usage: colab_pins.py --test-tools pyproject.toml constraints/colab-X.txt", file=sys.stderr)
            return 2
        print("\n".join(test_tools(pathlib.Path(argv[1]), pathlib.Path(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("freeze", type=pathlib.Path, help="a saved copy of Colab's pip-freeze.txt")
    parser.add_argument("--os-info", type=pathlib.Path, help="a saved copy of Colab's os-info.txt (gives Python)")
    parser.add_argument("--python", help="the runtime's Python version, when os-info.txt is not at hand")
    parser.add_argument("--date", required=True, help="the freeze commit's date, YYYY-MM-DD")
    parser.add_argument("--commit", required=True, help="the freeze commit in googlecolab/backend-info")
    parser.add_argument("--subject", default="", help="the freeze commit's subject line")
    parser.add_argument("--default-since", default="", help="the day Colab made this runtime its default")
    parser.add_argument("--name", help="file name stem after colab- (default: YYYY.MM of --date)")
    parser.add_argument("--output-dir", type=pathlib.Path, default=CONSTRAINTS)
    args = parser.parse_args(argv)
    if bool(args.os_info) == bool(args.python):
        parser.error("give exactly one of --os-info os-info.txt and --python X.Y.Z")
    python = args.python or python_from_os_info(args.os_info.read_text(encoding="utf-8"))
    try:
        text = constraints_text(args.freeze.read_text(encoding="utf-8"), python=python, date=args.date,
                                commit=args.commit, subject=args.subject, default_since=args.default_since)
    except ValueError as error:
        print(f"colab_pins: {error}", file=sys.stderr)
        return 2
    name = args.name or args.date[:7].replace("-", ".")
    path = args.output_dir / f"colab-{name}.txt"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    print("Next: delete the constraints/colab-*.txt of a runtime Colab no longer offers, run `make colab-links`"
          " (the Setup cell's version floor follows the oldest runtime) and `make test-colab`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
