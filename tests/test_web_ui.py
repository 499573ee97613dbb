"""The Web UI shows a saga: the embedded server's UI, loaded in headless Chromium.

The test starts its own embedded server with its UI (its own temporary home, free
ports, no ``TEMPORAL_ADDRESS``), runs one saga with the package's workers, opens the
workflow's page (``ServerInfo.workflow_url``) and checks, in the DOM the browser
rendered, that the page names the workflow and says it completed. It also takes a
screenshot, kept in ``test-artifacts/`` (gitignored) for a person to look at.

The UI is a single-page app: the page is built by JavaScript from API calls after it
loads. ``--virtual-time-budget`` lets Chromium run the page's timers and requests
before it dumps the DOM, and the dump is retried in case the API answered late.

Chromium comes from the system (Debian's ``chromium``; ``.ci/run`` installs it). Without
it the test fails, saying how to install it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from saga_lab import connection, server
from saga_lab.checkout import place_order, workflow_status
from saga_lab.worker import BackgroundWorkers
from saga_lab.workflows import COMPLETED

try:  # tests/ may or may not become a package
    from .helpers import CHROMIUM_FLAGS, find_chromium
except ImportError:
    from helpers import CHROMIUM_FLAGS, find_chromium

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOT = ARTIFACTS / "web_ui_workflow.png"

#: Real seconds one Chromium run may take before it is killed.
BROWSER_TIMEOUT_S = 90
DUMP_ATTEMPTS = 3


def _chromium() -> str | None:
    return find_chromium()


def _browser(chromium: str, profile: Path, *action: str) -> str:
    """Run headless Chromium once (own process group, killed on timeout); returns stdout."""
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *action,
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BROWSER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium did not finish within {BROWSER_TIMEOUT_S} s: {' '.join(action)}")
    finally:
        try:  # Chromium's helpers (zygote, GPU) must not outlive the test
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert process.returncode == 0, f"chromium exited {process.returncode}: {stderr[-2000:]}"
    return stdout


class _TestIds(HTMLParser):
    """The text inside each element that has a ``data-testid``, as the page shows it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[str, list[str]] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        test_id = dict(attrs).get("data-testid")
        self._open.append((tag, test_id))
        if test_id:
            self.texts.setdefault(test_id, [])

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        for _, test_id in self._open:
            if test_id:
                self.texts[test_id].append(data)

    def text(self, test_id: str) -> str:
        return " ".join("".join(self.texts.get(test_id, [])).split())


def _page(dom: str) -> _TestIds:
    parser = _TestIds()
    parser.feed(dom)
    return parser


@pytest.fixture
def chromium() -> str:
    found = _chromium()
    if found is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (.ci/run installs it in CI)")
    return found


@pytest.fixture
def own_server(tmp_path, monkeypatch):
    """An embedded server with its Web UI, on free ports, with its data under ``tmp_path``."""
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAGA_LAB_HOME", str(tmp_path))
    settings = server.ServerSettings(home=tmp_path, port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        yield info
    finally:
        server.stop(settings)


async def test_the_web_ui_shows_a_completed_saga(chromium, own_server, tmp_path):
    info = own_server
    assert info.ui_url and info.started

    order_id = f"web-ui-{uuid.uuid4().hex[:8]}"
    client = await connection.connect(info)
    async with BackgroundWorkers(client, home=tmp_path):
        result = await place_order(client, order_id, 4999)
    assert result.status == COMPLETED
    assert await workflow_status(client, order_id) == "COMPLETED"

    url = info.workflow_url(order_id)
    assert url == f"{info.ui_url}/namespaces/default/workflows/{order_id}"
    profile = tmp_path / "chromium-profile"
    for _ in range(DUMP_ATTEMPTS):
        page = _page(_browser(chromium, profile, "--dump-dom", url))
        if page.text("execution-status"):
            break
    heading, status = page.text("workflow-id-heading"), page.text("execution-status")
    assert order_id in heading.split(), f"the page's heading is {heading!r}"  # plus a hidden "Click to copy"
    assert status.split() == ["Completed"], f"the page's status is {status!r}"

    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    _browser(chromium, profile, f"--screenshot={SCREENSHOT}", "--window-size=1400,1000", url)
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert SCREENSHOT.stat().st_size > 10_000  # a rendered page, not a blank one
