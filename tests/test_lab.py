"""`make lab` as a new user meets it: `saga-lab lab` brings up the server with its Web UI and JupyterLab."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from saga_lab import server

try:  # tests/ may or may not become a package
    from .helpers import http_status, saga_lab_command
except ImportError:
    from helpers import http_status, saga_lab_command

SAGA_LAB = saga_lab_command()


def _wait_for(url: str, deadline: float) -> int:
    status = 0
    while time.monotonic() < deadline and status != 200:
        status = http_status(url)
        time.sleep(0.2)
    return status


def test_lab_starts_the_server_its_ui_and_jupyterlab(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    port, ui_port, lab_port = server.free_port(), server.free_port(), server.free_port()
    env.update(SAGA_LAB_HOME=str(tmp_path), SAGA_LAB_PORT=str(port), SAGA_LAB_UI_PORT=str(ui_port))
    lab = subprocess.Popen(
        [str(SAGA_LAB), "lab", "--no-browser", "--port", str(lab_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        lab_status = _wait_for(f"http://127.0.0.1:{lab_port}/api", deadline)
        ui_status = _wait_for(f"http://127.0.0.1:{ui_port}/", deadline)
        info, line = server.status(server.ServerSettings(home=tmp_path, port=port, ui_port=ui_port))
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        output, _ = lab.communicate(timeout=30)
        server.stop(server.ServerSettings(home=tmp_path, port=port, ui_port=ui_port))
    assert (lab_status, ui_status) == (200, 200), output[-2000:]
    assert info is not None and info.address == f"127.0.0.1:{port}", line
    assert f"Temporal Web UI: http://127.0.0.1:{ui_port}" in output
    assert "Traceback" not in output
