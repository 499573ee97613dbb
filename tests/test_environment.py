"""The three dependency lists agree, and the README's two commands are the ones CI runs.

``pyproject.toml`` names the direct dependencies with ranges, ``constraints.txt`` pins every
package of the venv, and ``environment.yml`` (conda, Binder) pins the direct ones again.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9][A-Za-z0-9.+!_-]*)$")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _direct() -> list[Requirement]:
    """Runtime dependencies and every extra's ([lab], [test])."""
    project = _pyproject()["project"]
    extras = [text for group in project.get("optional-dependencies", {}).values() for text in group]
    return [Requirement(text) for text in project["dependencies"] + extras]


def _constraint_lines() -> list[str]:
    lines = []
    for raw in (REPO / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _constraints() -> dict[str, str]:
    pins = {}
    for line in _constraint_lines():
        match = PIN.match(line)
        assert match, f"constraints.txt: {line!r} is not NAME==VERSION"
        pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def _environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def _conda_and_pip() -> tuple[list[str], list[str]]:
    conda, pip = [], []
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, entry
            pip.extend(entry["pip"])
        else:
            conda.append(str(entry))
    return conda, pip


def _env_pins() -> dict[str, str]:
    """environment.yml's pip entries that name a package, as {name: version}; each must be NAME==VERSION."""
    _, pip = _conda_and_pip()
    pins = {}
    for entry in pip:
        if entry.startswith("-e"):
            continue
        match = PIN.match(entry.strip())
        assert match, f"environment.yml pip entry {entry!r} is not pinned with =="
        name = canonicalize_name(match["name"])
        assert name not in pins, f"environment.yml names {name} twice"
        pins[name] = match["version"]
    return pins


def test_constraints_pin_every_line_exactly():
    lines = _constraint_lines()
    assert lines, "constraints.txt is empty"
    for line in lines:
        assert PIN.match(line), f"constraints.txt: {line!r} is not NAME==VERSION"
    names = [canonicalize_name(PIN.match(line)["name"]) for line in lines]
    assert len(names) == len(set(names)), "constraints.txt pins a package twice"


@pytest.mark.parametrize("requirement", _direct(), ids=lambda r: r.name)
def test_direct_dependency_pinned_alike_everywhere(requirement):
    name = canonicalize_name(requirement.name)
    constraints, env = _constraints(), _env_pins()
    assert name in constraints, f"{requirement.name} is not pinned in constraints.txt"
    assert name in env, f"{requirement.name} is not in environment.yml's pip list"
    assert env[name] == constraints[name], (
        f"{requirement.name}: environment.yml pins {env[name]}, constraints.txt pins {constraints[name]}"
    )
    assert requirement.specifier.contains(Version(constraints[name]), prereleases=True), (
        f"{requirement.name}=={constraints[name]} does not satisfy pyproject's {requirement.specifier}"
    )


def test_environment_pins_nothing_beyond_constraints():
    constraints = _constraints()
    for name, version in _env_pins().items():
        assert constraints.get(name) == version, (
            f"environment.yml pins {name}=={version}, constraints.txt {constraints.get(name)}"
        )


def test_environment_channels_and_conda_packages():
    env = _environment()
    assert "conda-forge" in env["channels"]
    conda, pip = _conda_and_pip()
    names = {re.split(r"[=<>!~ ]", entry, maxsplit=1)[0] for entry in conda}
    assert {"openjdk", "plantuml", "pip", "python"} <= names, names
    assert "-e .[lab,test]" in [entry.strip() for entry in pip]


def test_environment_python_satisfies_requires_python():
    from packaging.specifiers import SpecifierSet

    conda, _ = _conda_and_pip()
    python = [entry for entry in conda if re.match(r"python\b", entry)]
    assert len(python) == 1, python
    version = Version(re.sub(r"^python\s*=*", "", python[0]).rstrip(".*"))  # conda's python=3.11 means 3.11.*
    assert SpecifierSet(_pyproject()["project"]["requires-python"]).contains(version), version


def test_readme_shows_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert re.search(r"^make lab\b", readme, re.M), "README does not show `make lab`"
    assert re.search(r"^make test\b", readme, re.M), "README does not show `make test`"
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_ci_runs_make_test():
    script = REPO / ".ci" / "run"
    commands = [line.strip() for line in script.read_text().splitlines() if not line.strip().startswith("#")]
    assert any(re.fullmatch(r"(exec\s+)?make test(\s.*)?", line) for line in commands), commands


def test_runtime_dependencies_are_what_import_saga_lab_needs():
    """JupyterLab, nbval, pytest and friends are extras: the package itself never needs them."""
    runtime = {canonicalize_name(Requirement(text).name) for text in _pyproject()["project"]["dependencies"]}
    assert not runtime & {"jupyterlab", "nbval", "pytest", "pytest-asyncio", "matplotlib", "ruff", "playwright"}
    extras = _pyproject()["project"]["optional-dependencies"]
    assert set(extras) == {"lab", "test"}
