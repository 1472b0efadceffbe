"""The explorers in a real browser: ``make test-browser``.

Starts JupyterLab (this environment's) on a free local port, on a temporary copy of the
notebooks (so autosave never touches the course's stored outputs), drives it with Playwright in
Debian's ``chromium`` package (``/usr/bin/chromium``; Playwright's own browser download is never
used), runs notebooks 01 and 03 from top to bottom, then changes every control of each
explorer (every dropdown, slider and toggle, and the upload button) and checks that the picture
updates, each time in under 1 s. Screenshots go to ``outputs/browser/``. The server is stopped
by its process id (its process group: the kernels it started go with it).

Runs only under ``make test-browser`` (``CONVNET_XRAY_BROWSER=1``); ``make test`` skips it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Iterable, Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUTS = ROOT / "outputs" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NOTEBOOKS = ("01_intermediate_activations.ipynb", "03_class_activation_maps.ipynb")
UPDATE_LIMIT_S = 1.0
"""Each control change must show a new picture within this time."""
UNTRUSTED = "untrusted_copy_of_01.ipynb"
"""Notebook 01 as a fresh clone has it before `make lab` trusts it."""
RUN_ALL_LIMIT_S = 900
"""A notebook's run from top to bottom (about 1 to 3 minutes on 2 cores)."""

pytestmark = pytest.mark.skipif(os.environ.get("CONVNET_XRAY_BROWSER") != "1",
                                reason="browser test: run it with `make test-browser`")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lab_env(home: pathlib.Path) -> dict:
    """Jupyter's settings and state kept under ``home`` (nothing of the user's own is read or written)."""
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "TF_CPP_MIN_LOG_LEVEL": "2"}


@contextlib.contextmanager
def jupyterlab(home: pathlib.Path, root: pathlib.Path, trusted: Iterable[str] = (),
               log_copy: pathlib.Path | None = None) -> Iterator[tuple[str, str]]:
    """This environment's JupyterLab on ``root``, on a free local port: yields ``(base URL, token)``.

    The notebooks named in ``trusted`` are trusted first (what `make lab` does). Jupyter finds the
    kernel spec of this environment's python (ipykernel) in sys.prefix. The server is stopped by
    its process id (its process group holds its kernels); its log is copied to ``log_copy``.
    """
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), "
                    "or set CHROMIUM to a Chromium binary. Never `playwright install`.")
    env = _lab_env(home)
    trusted = [str(root / name) for name in trusted]
    if trusted:
        subprocess.run([str(pathlib.Path(sys.executable).parent / "jupyter"), "trust", *trusted],
                       env=env, check=True, capture_output=True)
    port, token = _free_port(), uuid.uuid4().hex
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    json.load(response)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()
        if log_copy is not None:
            log_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(home / "server.log", log_copy)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks: yields ``(base URL, token)``."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    for name in NOTEBOOKS:
        shutil.copy2(ROOT / "notebooks" / name, root / name)
    # Trust is a signature of the content: the copy gets one more line, so it is not signed.
    copy = json.loads((ROOT / "notebooks" / NOTEBOOKS[0]).read_text(encoding="utf-8"))
    copy["cells"][0]["source"].append("\n\n(an untrusted copy)")
    (root / UNTRUSTED).write_text(json.dumps(copy, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    # What `make lab` does first (the untrusted copy stays as a fresh clone's notebooks are).
    with jupyterlab(home, root, trusted=NOTEBOOKS, log_copy=OUTPUTS / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make venv)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# ------------------------------------------------------------------------------ page helpers
_NOTEBOOK_STATE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!widget || !widget.content || !widget.content.model || !widget.sessionContext) return null;
  const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
  const cells = widget.content.model.cells;
  let code = 0, done = 0; const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount !== null) done += 1;
    for (const out of cell.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  }
  const running = document.querySelectorAll('.jp-InputPrompt').length
    ? [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*')) : false;
  return {status: kernel ? kernel.status : 'none', code, done, running, errors};
}"""


def _run_notebook(page, base: str, token: str, name: str) -> float:
    """Open ``name``, restart its kernel and run all cells; return the seconds it took."""
    page.goto(f"{base}/lab/tree/{name}?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)
    start = time.monotonic()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    while True:
        state = page.evaluate(_NOTEBOOK_STATE)
        assert state is not None, "the notebook panel vanished"
        assert not state["errors"], f"{name} raised: {state['errors']}"
        if state["code"] and state["done"] == state["code"] and not state["running"] and state["status"] == "idle":
            return time.monotonic() - start
        assert time.monotonic() - start < RUN_ALL_LIMIT_S, f"{name} did not finish: {state}"
        time.sleep(1.0)


_KERNEL_PRINT = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let text = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
    if (msg.header.msg_type === 'error') text += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return text;
}"""

_CONTROLS_IN_KERNEL = """
import json as _json, ipywidgets as _widgets
def _controls(box, found):
    if isinstance(box, _widgets.Dropdown):
        found.append(["select", box.label])
    elif isinstance(box, (_widgets.IntSlider, _widgets.FloatSlider)):
        found.append(["slider", box.value])
    elif isinstance(box, _widgets.ToggleButtons):
        found.append(["toggle", box.label])
    for child in getattr(box, "children", ()):
        _controls(child, found)
    return found
print(_json.dumps(_controls(explorer.widget, [])))
"""

_CONTROLS_IN_PAGE = """root => {
  const found = [];
  for (const el of root.querySelectorAll('select, .widget-slider .widget-readout, .widget-toggle-buttons')) {
    if (el.tagName === 'SELECT') found.push(['select', el.selectedIndex >= 0 ? \
el.options[el.selectedIndex].text.replace(/\u00a0/g, ' ') : null]);
    else if (el.classList.contains('widget-readout')) found.push(['slider', parseFloat(el.textContent)]);
    else {
      const active = el.querySelector('button.mod-active');
      found.push(['toggle', active ? active.textContent.replace(/\u00a0/g, ' ').trim() : null]);
    }
  }
  return found;
}"""


def _settled(page, image, quiet_s: float = 0.5, limit_s: float = 20.0) -> None:
    """Wait until the picture has not changed for ``quiet_s`` and the kernel is idle."""
    deadline = time.monotonic() + limit_s
    last, since = image.get_attribute("src"), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = image.get_attribute("src")
        if now != last:
            last, since = now, time.monotonic()
        busy = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
        if time.monotonic() - since >= quiet_s and busy == "idle":
            return
    raise AssertionError("the explorer kept redrawing")


def _same_controls(page, root) -> None:
    """What the browser shows in every control is what the kernel's widgets hold."""
    text = page.evaluate(_KERNEL_PRINT, _CONTROLS_IN_KERNEL)
    assert not text.startswith("ERROR"), text
    kernel = json.loads(text)
    shown = root.evaluate(_CONTROLS_IN_PAGE)
    assert [kind for kind, _ in kernel] == [kind for kind, _ in shown], (kernel, shown)
    for (kind, held), (_, seen) in zip(kernel, shown):
        if kind == "slider":
            assert seen == pytest.approx(held, abs=0.01), f"slider shows {seen}, the kernel holds {held}"
        else:
            assert seen == held, f"{kind} shows {seen!r}, the kernel holds {held!r}"


def _explorer(page):
    """The explorer's box: the VBox that holds the picture (an ipywidgets Image)."""
    images = page.locator(".jp-OutputArea-output .widget-image")
    assert images.count() == 1, f"expected one explorer picture, found {images.count()}"
    image = images.first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.getAttribute('src') && img.naturalWidth > 0", arg=image.element_handle(),
                           timeout=30_000)
    return image.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]"), image


def _changed(page, image, action, label: str, shots: pathlib.Path, timings: dict[str, float]) -> None:
    """Do ``action``; the picture's source must change within UPDATE_LIMIT_S (then a screenshot)."""
    before = image.get_attribute("src")
    start = time.monotonic()
    action()
    page.wait_for_function("([img, old]) => img.getAttribute('src') !== old && img.complete && img.naturalWidth > 0",
                           arg=[image.element_handle(), before], timeout=30_000)
    elapsed = time.monotonic() - start
    timings[label] = round(elapsed, 3)
    _settled(page, image)
    page.screenshot(path=str(shots / f"{label}.png"))
    assert elapsed < UPDATE_LIMIT_S, f"{label}: the picture took {elapsed:.2f} s to update"
    _same_controls(page, image.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]"))


def _exercise_every_control(page, root, image, shots: pathlib.Path, upload_file: pathlib.Path) -> dict[str, float]:
    """Change each dropdown (to two other entries), slider, toggle button and the upload."""
    timings: dict[str, float] = {}
    selects = root.locator("select")
    assert selects.count() >= 2, "an explorer has an image chooser and at least a layer dropdown"
    for i in range(selects.count()):
        select = selects.nth(i)
        options = select.locator("option")
        current = select.evaluate("s => s.selectedIndex")
        for step, target in enumerate([(current + 1) % options.count(), (current + 2) % options.count()]):
            if target == current:
                continue
            _changed(page, image, lambda: select.select_option(index=target), f"select{i}_option{target}", shots,
                     timings)
            current = target
    handles = root.locator(".widget-slider .noUi-handle")
    assert handles.count() >= 1, "an explorer has a slider"
    for i in range(handles.count()):
        handle = handles.nth(i)
        for key in ("ArrowRight", "ArrowRight"):
            _changed(page, image, lambda: (handle.focus(), page.keyboard.press(key)), f"slider{i}_{key}_{len(timings)}",
                     shots, timings)
    toggles = root.locator(".widget-toggle-buttons button")
    for i in range(toggles.count()):
        button = toggles.nth(i)
        if "mod-active" in (button.get_attribute("class") or ""):
            continue
        _changed(page, image, button.click, f"toggle{i}", shots, timings)
    upload = root.locator(".widget-upload")
    assert upload.count() == 1, "an explorer has an upload button"

    def choose_file():
        with page.expect_file_chooser() as chooser:
            upload.click()
        chooser.value.set_files(str(upload_file))

    _changed(page, image, choose_file, "upload", shots, timings)
    return timings


def _open(page, base: str, token: str, name: str) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_timeout(3000)  # let the widget manager restore the stored state


def test_stored_explorer_pictures_show_only_in_trusted_notebooks(lab, browser) -> None:
    """A fresh clone: JupyterLab draws the stored widget pictures once `make lab` trusted the
    notebook; untrusted, it shows the widget's text form ("VBox(children=...")."""
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    OUTPUTS.mkdir(parents=True, exist_ok=True)
    try:
        _open(page, base, token, NOTEBOOKS[0])
        stored = page.locator(".jp-OutputArea-output .widget-image")
        stored.first.wait_for(timeout=60_000)
        stored.first.scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUTS / "stored_widgets_trusted.png"))
        assert page.evaluate("img => img.naturalWidth > 0", stored.first.element_handle())
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        _open(page, base, token, UNTRUSTED)
        shown = page.evaluate("""() => {
          const node = window.jupyterapp.shell.currentWidget.node;
          return {title: window.jupyterapp.shell.currentWidget.title.label,
                  pictures: node.querySelectorAll('.jp-OutputArea-output .widget-image').length,
                  text: node.textContent.includes('VBox(children=(HBox(')};
        }""")
        assert shown == {"title": UNTRUSTED, "pictures": 0, "text": True}, shown
        page.screenshot(path=str(OUTPUTS / "stored_widgets_untrusted.png"))
    finally:
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
        page.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_explorer_updates_in_the_browser(lab, browser, name, tmp_path) -> None:
    base, token = lab
    shots = OUTPUTS / name.removesuffix(".ipynb")
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    # No network at test time: only the local server is reachable (the Colab badge image is not).
    blocked: list[str] = []

    def local_only(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    try:
        seconds = _run_notebook(page, base, token, name)
        root, image = _explorer(page)
        root.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "after_run_all.png"))
        upload_file = tmp_path / "upload.png"
        shutil.copy2(ROOT / "data" / "images" / "coffee.png", upload_file)
        from helpers.data import load_image

        size = 150  # both explorers' models take 150×150 images
        upload_mean = float(load_image(upload_file, size=size).mean())
        _same_controls(page, root)
        timings = _exercise_every_control(page, root, image, shots, upload_file)
        text = page.evaluate(_KERNEL_PRINT, "print(explorer.chooser.name, float(explorer.chooser.image.mean()))")
        name_shown, mean = text.rsplit(" ", 1)
        assert name_shown == "upload: upload.png" and abs(float(mean) - upload_mean) < 1.0, text
    finally:
        page.screenshot(path=str(shots / "last.png"))
        page.close()
    report = {"notebook": name, "run_all_seconds": round(seconds, 1), "update_seconds": timings,
              "slowest_update_seconds": max(timings.values()), "console_errors": console_errors[:20],
              "blocked_requests": sorted(set(blocked))}
    (shots / "timings.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    assert len(timings) >= 6
    widget_errors = [text for text in console_errors if "widget" in text.lower()]
    assert not widget_errors, f"the widget front end reported errors: {widget_errors}"
