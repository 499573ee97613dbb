"""Test-session harness shared by the unit tests, the integration tests and nbval.

One embedded Temporal dev server is started for the whole session on free loopback
ports with a throw-away data directory; ``SAGA_LAB_HOME``, ``SAGA_LAB_PORT`` and
``SAGA_LAB_UI_PORT`` are exported, so every notebook kernel, CLI subprocess and test
finds it running as a learner's ``make lab`` would (the embedded server, no learner
prefix). Tests of a shared server set ``TEMPORAL_ADDRESS`` themselves. It is stopped
when the session ends.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from saga_lab import server

#: The notebooks' own packages (checks, exercises, solutions, demos, capstone) import as a kernel
#: started in notebooks/ imports them.
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))

_session_server: dict = {}


def _xdist_controller(config: pytest.Config) -> bool:
    """Under ``pytest -n N`` the controller only hands out tests; each worker starts its own server."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_sessionstart(session: pytest.Session) -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if _xdist_controller(session.config):
        return
    # SAGA_LAB_TEST_DIR: where to make it (tests/test_long_path.py: deep in a long path), else the temporary folder.
    home = Path(tempfile.mkdtemp(prefix="saga-lab-test-", dir=os.environ.get("SAGA_LAB_TEST_DIR") or None))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL", "SAGA_LAB_LEARNER"):
        os.environ.pop(name, None)
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    _session_server.update(settings=settings, info=info, home=home)
    os.environ["SAGA_LAB_HOME"] = str(home)
    os.environ["SAGA_LAB_PORT"] = str(settings.port)
    os.environ["SAGA_LAB_UI_PORT"] = str(settings.ui_port)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    settings = _session_server.get("settings")
    if settings is not None:
        server.stop(settings)


#: The test files that run notebooks (minutes each: every notebook twice in the browser; three of them from a
#: long path): first, then the notebooks under nbval (up to a minute each), then the rest, so that under
#: ``pytest -n`` (one file per process, in this order: the Makefile passes ``--no-loadscope-reorder``) the
#: short files fill the processes at the end.
LONGEST_FILES = ("test_jupyterlab.py", "test_jupyterlab_second_half.py", "test_long_path.py")


#: Notebooks that nbval runs from a copy of the project at a long path instead (``tests/test_long_path.py``), where
#: every command line their processes have is long: a run over the folder skips them here, so they run once, not
#: twice. Named on the command line (``pytest notebooks/11_chaos_at_scale.ipynb``), they run here like any other.
LONG_PATH_NOTEBOOKS = ("00_setup.ipynb", "08_durability.ipynb", "11_chaos_at_scale.ipynb")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.parent == NOTEBOOKS and collection_path.name in LONG_PATH_NOTEBOOKS:
        return True
    return None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    items.sort(key=lambda item: 0 if item.path.name in LONGEST_FILES else 1 if item.path.suffix == ".ipynb" else 2)


def pytest_collectstart(collector) -> None:
    # nbval: compare text only; pictures and HTML are checked by structure in tests,
    # and warnings printed on stderr are not part of a notebook's checked output.
    if collector.__class__.__name__ == "IPyNbFile":
        collector.skip_compare += ("stderr", "image/svg+xml", "image/png", "text/html", "application/javascript")


@pytest.fixture(scope="session")
def session_server() -> server.ServerInfo:
    """The dev server this test session started (see ``pytest_sessionstart``)."""
    return _session_server["info"]
