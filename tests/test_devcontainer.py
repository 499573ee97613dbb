"""The zero-install launch: ``.devcontainer/devcontainer.json`` (GitHub Codespaces, VS Code Dev Containers).

No Docker runs here, so the container itself is not built: the file is read as the tools read it (plain
JSON), its commands must be ``make`` targets a laptop runs too, and those targets are run here: ``make install``
(what the container's create step runs; a no-op on an installed checkout) and ``make server-start`` (its
start step), on free ports with a data directory of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from saga_lab import server

ROOT = Path(__file__).resolve().parent.parent
SPEC = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())


def make_target(command: str) -> str:
    match = re.fullmatch(r"make ([a-z-]+)", command)
    assert match, f"{command!r}: a dev container runs the same `make` target as a laptop"
    assert re.search(rf"^{match[1]}:", (ROOT / "Makefile").read_text(), re.M), f"no target {match[1]} in the Makefile"
    return match[1]


def test_the_container_is_a_pinned_python_with_the_ports_labelled_and_the_readme_open():
    image = SPEC["image"]
    assert re.search(r":\d+-3\.(1[1-9])-\w+$", image), f"{image}: pin the image's Python (3.11 or newer)"
    assert make_target(SPEC["postCreateCommand"]) == "install"
    assert make_target(SPEC["postStartCommand"]) == "server-start"
    ports = {str(port) for port in SPEC["forwardPorts"]}
    assert {"8888", "8233"} <= ports
    labels = {port: SPEC["portsAttributes"][port]["label"] for port in ports}
    assert "JupyterLab" in labels["8888"] and "Web UI" in labels["8233"], labels
    opened = SPEC["customizations"]["codespaces"]["openFiles"]
    assert opened == ["README.md"] and all((ROOT / name).is_file() for name in opened)


def test_its_make_targets_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_"))}
    settings = server.ServerSettings(home=tmp_path / "home", port=server.free_port(), ui_port=server.free_port())
    env.update(
        SAGA_LAB_HOME=str(settings.home), SAGA_LAB_PORT=str(settings.port), SAGA_LAB_UI_PORT=str(settings.ui_port)
    )
    try:
        for command in (SPEC["postCreateCommand"], SPEC["postStartCommand"]):
            done = subprocess.run(command.split(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert f"Temporal server started: {settings.address}" in done.stdout, done.stdout
        info, line = server.status(settings)
        assert info is not None, line  # the start step left the server running, detached
    finally:
        server.stop(settings)
