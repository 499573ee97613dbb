"""Test-session harness shared by the unit tests, the integration tests and nbval.

One embedded Temporal dev server is started for the whole session on free loopback
ports with a throw-away data directory; ``TEMPORAL_ADDRESS`` and ``SAGA_LAB_HOME``
are exported so every notebook kernel, CLI subprocess and test uses it. It is
stopped when the session ends.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from saga_lab import server

_session_server: dict = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    home = Path(tempfile.mkdtemp(prefix="saga-lab-test-"))
    settings = server.ServerSettings(home=home / "temporal", port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    _session_server.update(settings=settings, info=info, home=home)
    os.environ["SAGA_LAB_HOME"] = str(home)
    os.environ["TEMPORAL_ADDRESS"] = info.address
    os.environ["TEMPORAL_NAMESPACE"] = info.namespace
    os.environ["TEMPORAL_UI_URL"] = info.ui_url or ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    settings = _session_server.get("settings")
    if settings is not None:
        server.stop(settings)


def pytest_collectstart(collector) -> None:
    # nbval: compare text only; pictures and HTML are checked by structure in tests,
    # and warnings printed on stderr are not part of a notebook's checked output.
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare += ("stderr", "image/svg+xml", "image/png", "text/html", "application/javascript")


@pytest.fixture(scope="session")
def session_server() -> server.ServerInfo:
    """The dev server this test session started (see ``pytest_sessionstart``)."""
    return _session_server["info"]
