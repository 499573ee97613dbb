"""Helpers the tests share: the saga-lab command, process liveness, HTTP status, Chromium and its flags, the notebooks
tool, which notebooks to start first, and a dev server of a test's own."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

#: The notebooks folder: its own packages (checks, exercises, solutions, ...) are on sys.path (conftest.py).
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Headless Chromium with nothing reaching the network (add ``--user-data-dir`` and the action).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

#: A Chromium on PATH, by the names Debian, Ubuntu and Google give it (macOS: set ``CHROMIUM``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


@functools.cache
def find_chromium() -> str | None:
    """The Chromium every browser test drives, or None: ``$CHROMIUM``, else one of :data:`CHROMIUM_NAMES` on
    PATH, else one ``python -m playwright install chromium`` downloaded (for conda, which has none)."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    return next((str(path) for path in sorted(_playwright_chromiums(), reverse=True) if os.access(path, os.X_OK)), None)


def _playwright_chromiums() -> list[Path]:
    """The Chromium builds in Playwright's browser folder (``$PLAYWRIGHT_BROWSERS_PATH``, else its cache folder)."""
    folders = [os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or ""]
    if not folders[0]:
        folders = [Path.home() / ".cache" / "ms-playwright", Path.home() / "Library" / "Caches" / "ms-playwright"]
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium-*/chrome-mac*/*.app/Contents/MacOS/*")
    return [path for folder in folders if folder for pattern in patterns for path in Path(folder).glob(pattern)]


#: The notebooks that wait longest on Temporal's timers and kills (40-50 s a run each, measured; the others
#: take 2-20 s). Tests that run notebooks side by side start these first, so that no lane begins one of
#: them when the others are nearly done.
LONGEST_NOTEBOOKS = ("04", "07", "08", "11")


def longest_first(names: list) -> list:
    """``names`` (file names or paths of notebooks) with :data:`LONGEST_NOTEBOOKS` first, else in order."""
    return sorted(names, key=lambda name: Path(name).name[:2] not in LONGEST_NOTEBOOKS)


def saga_lab_command() -> Path:
    """The ``saga-lab`` console script of the environment running the tests (a venv or conda)."""
    beside = Path(sys.executable).with_name("saga-lab")
    if beside.exists():
        return beside
    found = shutil.which("saga-lab")
    if found is None:
        raise RuntimeError("saga-lab is not installed in this environment: pip install -e .")
    return Path(found)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """True once ``pid`` is gone, False if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def http_status(url: str) -> int:
    """The HTTP status ``url`` answers with, 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def notebooks_tool():
    """``tools/notebooks.py``: listings, sources, verdicts, running a notebook (one definition for tool and tests)."""
    name = "saga_lab_notebooks_tool"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, NOTEBOOKS.parent / "tools" / "notebooks.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@contextlib.contextmanager
def dev_server(log_dir: Path, *flags: str, namespace: str = "default") -> Iterator[str]:
    """A ``temporal server start-dev`` of the test's own (in memory, free loopback ports), with ``flags``
    (``--search-attribute OrderStatus=Text``, ``--namespace room``...); yields its address, then stops it."""
    from saga_lab import server

    port, ui_port = server.free_port(), server.free_port()
    command = [str(server.temporal_cli_path()), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--ui-port", str(ui_port), "--log-level", "error", *flags]
    log = log_dir / f"dev-server-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.is_temporal(address, namespace, timeout=1.0):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the dev server did not start: {log.read_text()[-500:]}")
            time.sleep(0.1)
        yield address
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
