"""The notebooks that inspect processes, paths and ports, under nbval from a project whose path is over 150 characters.

A learner's home (``/home/<name>/workshops/...``) or a CI checkout can be that deep, and then every
command line the notebooks' processes have is long: the interpreter (``<project>/.venv/bin/python``),
the forkserver the chaos runner starts through it, the Temporal server with its ``--db-filename``
under the lab's data folder. ``ps -o args=`` cut such lines at 80 columns when not on a terminal, so
notebook 11 once reported its forkserver as a process left running (issue 19).

Here the project's notebooks (and what they read beside them) are copied to a folder whose path is
over 150 characters, with a venv there: its own ``pyvenv.cfg`` and interpreter, its packages linked
from this one (nothing is installed). The test session's data folder is made there too
(``SAGA_LAB_TEST_DIR``), as a learner's ``.saga-lab/`` is inside the project, so the Temporal
servers' databases are under it. (Not the temporary folder: a socket path there, such as the
forkserver's, may not be longer than 107 bytes, and a learner's temporary folder is short.)
Then nbval runs notebooks 00 (the tools and the server's address), 08 (worker processes, a second
server) and 11 (the chaos's forkserver and server, the processes left) there, as ``make test`` does:
this is their nbval run (``conftest.LONG_PATH_NOTEBOOKS``; a run over ``notebooks/`` skips them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LONG_PATH_NOTEBOOKS

REPO = Path(__file__).resolve().parent.parent
#: Deeper than this is what the notebooks must cope with.
LONG = 150
NOTEBOOKS = LONG_PATH_NOTEBOOKS
#: What a notebook run reads beside the notebooks: the pytest settings and session harness, the sanitize file and
#: the notebooks' own packages (in notebooks/), the diagrams they draw.
COPIED = ("pyproject.toml", "conftest.py", "notebooks", "diagrams")


def deep_folder(base: Path, length: int = LONG + 10) -> Path:
    """A folder under ``base`` whose path is longer than ``length`` characters, in parts a file system accepts."""
    folder, part = base, 0
    while len(str(folder)) <= length:
        part += 1
        folder = folder / f"a-workshop-folder-with-a-long-name-{part:02d}"
    folder.mkdir(parents=True)
    return folder


def venv_at(target: Path) -> Path:
    """A venv at ``target`` with this one's packages: its own ``pyvenv.cfg`` and interpreter, the rest linked."""
    here = Path(sys.prefix)
    if not (here / "pyvenv.cfg").is_file():
        pytest.fail(f"this test needs the tests to run in a venv (make test makes .venv); {sys.prefix} is not one")
    (target / "bin").mkdir(parents=True)
    shutil.copy2(here / "pyvenv.cfg", target / "pyvenv.cfg")
    (target / "lib").symlink_to(here / "lib", target_is_directory=True)
    for program in (here / "bin").iterdir():
        if not program.name.startswith("python"):
            (target / "bin" / program.name).symlink_to(program)
    (target / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    return target / "bin" / "python"


def test_the_notebooks_that_inspect_processes_paths_and_ports_run_clean_from_a_long_path(tmp_path_factory):
    root = deep_folder(tmp_path_factory.mktemp("long"))
    project = root / "saga-lab"
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    python = venv_at(project / ".venv")
    data = project / ".saga-lab-tests"
    data.mkdir()
    assert len(str(python)) > LONG and len(str(data)) > LONG

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGA_LAB_", "TEMPORAL_", "PYTEST_"))}
    env.update(
        SAGA_LAB_TEST_DIR=str(data), PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}", PYTHONHASHSEED="0"
    )
    command = [str(python), "-m", "pytest", "--nbval-lax", "--nbval-sanitize-with", "notebooks/sanitize.cfg"]
    command += ["--nbval-cell-timeout=300", "-n", "0", "-p", "no:cacheprovider", "-q"]
    command += [f"notebooks/{name}" for name in NOTEBOOKS]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    lines = (done.stdout + done.stderr).splitlines()
    first = next((i for i, line in enumerate(lines) if "Cell execution caused" in line or "mismatch" in line), 0)
    said = "\n".join(lines[max(0, first - 3) : first + 50] + [line for line in lines if line.startswith("FAILED")])
    assert done.returncode == 0, f"nbval at {project} ({len(str(project))} characters):\n{said}"
    assert " passed" in done.stdout and " failed" not in done.stdout, said
