"""A room-ready JupyterLab: what a learner sees the first time ``saga-lab lab`` opens it, in headless Chromium.

JupyterLab starts as ``make lab`` starts it (``saga-lab lab``), with settings, workspaces and config folders
that are new (a first start: nothing in a home folder). The page must open on ``00_setup.ipynb`` with the
file browser on ``notebooks/``, ask nothing (no "official Jupyter news?" prompt, no update notice), and show
00's Web UI links as links. The same browser on a plain ``python -m jupyterlab`` sees the news prompt: the
test can tell.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from saga_lab import server

try:  # tests/ may or may not become a package
    from . import jupyterlab_driver as driver
    from .helpers import http_status, saga_lab_command
except ImportError:
    import jupyterlab_driver as driver
    from helpers import http_status, saga_lab_command

REPO = Path(__file__).resolve().parent.parent
NEWS_PROMPT = "official Jupyter news"
#: Seconds the page is watched after it showed JupyterLab: the news prompt, when asked, comes within a second.
WATCH_S = 6


@contextmanager
def first_start(tmp: Path, command: list[str]) -> Iterator[tuple[str, str]]:
    """``command`` (a JupyterLab) with fresh Jupyter folders and a server of its own; yields (url, token)."""
    port, token = server.free_port(), secrets.token_hex(16)
    settings = server.ServerSettings(home=tmp / "home", port=server.free_port(), ui_port=server.free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "JUPYTER"))}
    env.update(
        SAGA_LAB_HOME=str(settings.home),
        SAGA_LAB_PORT=str(settings.port),
        SAGA_LAB_UI_PORT=str(settings.ui_port),
        JUPYTER_TOKEN=token,
        HOME=str(tmp),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "lab-workspaces"),
        JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
    )
    log = tmp / "jupyterlab.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*command, f"--port={port}"], env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + driver.LAB_START_S
        while http_status(f"{url}/api/status?token={token}") != 200:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield url, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        server.stop(settings)


def off_this_machine(url: str) -> bool:
    return urlsplit(url).hostname not in {"127.0.0.1", "localhost", None}


async def what_the_page_shows(url: str, token: str) -> dict:
    """Open JupyterLab at ``/`` as a person does with the printed link; read the page once it settled."""
    async with driver.launched_chromium() as browser:
        context = await browser.new_context(viewport=driver.VIEWPORT)
        await context.route(off_this_machine, lambda route: route.abort("blockedbyclient"))
        page = await context.new_page()
        await page.goto(f"{url}/?token={token}", timeout=driver.OPEN_S * 1000)
        await page.wait_for_selector(".jp-LabShell", timeout=driver.OPEN_S * 1000)
        await page.wait_for_timeout(WATCH_S * 1000)
        return {
            "url": page.url,
            "toasts": await page.locator(".Toastify__toast").all_inner_texts(),
            "tabs": await page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel").all_inner_texts(),
            "files": await page.locator(".jp-DirListing-itemName").all_inner_texts(),
            "ui_links": await page.eval_on_selector_all(
                ".jp-OutputArea-output a[href^='http://127.0.0.1:8233']", "links => links.map(a => a.href)"
            ),
        }


def notification_settings(url: str, token: str) -> dict:
    request = urllib.request.Request(
        f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification",
        headers={"Authorization": f"token {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        properties = json.loads(response.read())["schema"]["properties"]  # its defaults, as overridden
    return {name: spec.get("default") for name, spec in properties.items()}


@pytest.fixture(scope="module", autouse=True)
def chromium_installed() -> None:
    if not os.access(driver.CHROMIUM, os.X_OK):
        pytest.fail(f"{driver.CHROMIUM} is not installed: `apt-get install -y chromium` (.ci/run installs it in CI)")


@pytest.mark.slow
async def test_saga_lab_lab_opens_00_and_asks_nothing(tmp_path):
    with first_start(tmp_path, [str(saga_lab_command()), "lab", "--no-browser"]) as (url, token):
        shown = await what_the_page_shows(url, token)
        settings = notification_settings(url, token)
    assert shown["url"].startswith(f"{url}/lab/tree/00_setup.ipynb"), shown
    assert shown["tabs"] == ["00_setup.ipynb"], shown
    assert "01_temporal_in_a_nutshell.ipynb" in shown["files"] and "exercises" in shown["files"], shown
    assert not any(NEWS_PROMPT in toast or "update" in toast.lower() for toast in shown["toasts"]), shown
    assert (settings["fetchNews"], settings["checkForUpdates"]) == ("false", False), settings
    assert shown["ui_links"], "00's stored Web UI links are not shown as links"


@pytest.mark.slow
async def test_a_plain_jupyterlab_asks_about_news_so_the_test_can_tell(tmp_path):
    plain = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--ServerApp.root_dir={REPO}"]
    if os.geteuid() == 0:
        plain.append("--allow-root")
    with first_start(tmp_path, plain) as (url, token):
        shown = await what_the_page_shows(url, token)
    assert any(NEWS_PROMPT in toast for toast in shown["toasts"]), shown
