"""Every wheel a room's laptops need, in one folder an instructor copies to a USB stick: ``make wheelhouse``.

    .venv/bin/python tools/wheelhouse.py                                 # every platform, Python 3.11-3.13
    .venv/bin/python tools/wheelhouse.py --platform linux-x86_64 --python 3.11 --extras ""   # a quick one

Then, on a laptop with the folder beside the Makefile, ``make lab`` installs from it with
``pip --no-index --find-links wheelhouse``: nothing is fetched from the network.

What goes in, for each platform and Python version: the packages ``pyproject.toml`` names (the runtime
ones and the ``--extras``, by default ``lab`` and ``test``) at the versions ``constraints.txt`` pins, and
everything they need **on that platform**. ``constraints.txt`` was frozen on Linux, so a dependency that
only macOS or Windows needs (``appnope``, ``colorama``, ``pywinpty``...) is not in it: each wheel's own
metadata is read, its environment markers evaluated for the target platform (pip evaluates them for the
machine it runs on, even with ``--platform``), and what is missing is fetched too, at the newest version
its requirement allows. ``setuptools`` comes along: ``pip install -e .`` builds the package with it.

Prints, per platform and Python version, the wheels and their size, and the packages that have no wheel
there (they cannot be installed offline on it). Exit 0 when every target is complete, 1 when some
package has no wheel for some target, 2 on bad input.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "wheelhouse"
PYTHONS = ("3.11", "3.12", "3.13")
#: Platform name -> (pip's --platform tags, environment markers). pip expands a macOS tag to the older ones
#: (macosx_12_0 takes macosx_10_9 wheels) but not ``manylinux_2_X``: every glibc from 2.28 (Ubuntu 20.04 has
#: 2.31, Debian 10 2.28) down to manylinux2014's 2.17 is listed.
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
MACOS = {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}
WINDOWS = {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
PLATFORMS: dict[str, tuple[list[str], dict[str, str]]] = {
    "linux-x86_64": (
        [f"manylinux_2_{glibc}_x86_64" for glibc in range(28, 16, -1)] + ["manylinux2014_x86_64"],
        {**LINUX, "platform_machine": "x86_64"},
    ),
    "linux-arm64": (
        [f"manylinux_2_{glibc}_aarch64" for glibc in range(28, 16, -1)] + ["manylinux2014_aarch64"],
        {**LINUX, "platform_machine": "aarch64"},
    ),
    "macos-arm64": (["macosx_12_0_arm64"], {**MACOS, "platform_machine": "arm64"}),
    "macos-x86_64": (["macosx_12_0_x86_64"], {**MACOS, "platform_machine": "x86_64"}),
    "windows-x86_64": (["win_amd64"], {**WINDOWS, "platform_machine": "AMD64"}),
}
#: The patch release a room's Python is taken to be for ``Requires-Python``: a current one (soupsieve 4.1.3, pinned,
#: requires 3.11.5 or newer; a laptop with an older 3.11 must update Python, with or without a wheelhouse).
PATCH = 99
#: What ``pip install -e .`` builds the package with (pyproject's build-system).
BUILD = ("setuptools>=68",)
_SAVED = re.compile(r"^\s*(?:Saved|File was already downloaded) (?P<path>\S+\.whl)\s*$", re.M)
_NO_WHEEL = re.compile(r"No matching distribution found for (?P<req>\S+)")


@dataclass
class Target:
    """One platform and Python version: the wheels it takes, and the packages with no wheel for it."""

    platform: str
    python: str
    wheels: dict[str, Path] = field(default_factory=dict)  # canonical name -> file
    missing: dict[str, str] = field(default_factory=dict)  # canonical name -> the requirement

    @property
    def name(self) -> str:
        return f"{self.platform} / Python {self.python}"

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.wheels.values())

    def markers(self) -> dict[str, str]:
        env = dict(PLATFORMS[self.platform][1])
        env.update(
            python_version=self.python,
            python_full_version=f"{self.python}.{PATCH}",
            implementation_name="cpython",
            platform_python_implementation="CPython",
            platform_release="",
            platform_version="",
        )
        return env


def pins(constraints: Path) -> dict[str, str]:
    """``{canonical name: version}`` from ``constraints.txt``."""
    found = {}
    for raw in constraints.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version.strip()
    return found


def roots(pyproject: Path, extras: list[str]) -> list[Requirement]:
    """The package's runtime requirements, its ``extras``' and its build backend's."""
    project = tomllib.loads(pyproject.read_text())["project"]
    unknown = [extra for extra in extras if extra not in project.get("optional-dependencies", {})]
    if unknown:
        raise SystemExit(f"--extras {unknown[0]!r}: pyproject.toml has {', '.join(project['optional-dependencies'])}")
    texts = list(project["dependencies"]) + [t for extra in extras for t in project["optional-dependencies"][extra]]
    return [Requirement(text) for text in [*texts, *BUILD]]


def metadata_requirements(wheel: Path) -> list[Requirement]:
    """``Requires-Dist`` of a wheel, read from its ``*.dist-info/METADATA``."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        message = Parser().parsestr(archive.read(name).decode("utf-8"))
    return [Requirement(text) for text in message.get_all("Requires-Dist") or []]


def applies(requirement: Requirement, env: dict[str, str], extras: set[str]) -> bool:
    """Whether ``requirement`` (of a package installed with ``extras``) holds on the target ``env``."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**env, "extra": extra}) for extra in {"", *extras})


def download(target: Target, specs: list[str], out: Path) -> dict[str, Path]:
    """``pip download`` ``specs`` as wheels for ``target`` into ``out``; the ones with no wheel go to ``missing``."""
    platforms = [option for tag in PLATFORMS[target.platform][0] for option in ("--platform", tag)]
    abi = "cp" + target.python.replace(".", "")
    got: dict[str, Path] = {}
    retried: set[str] = set()
    while specs:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            *platforms, "--python-version", f"{target.python}.{PATCH}", "--implementation", "cp",
            "--abi", abi, "--abi", "abi3", "--abi", "none", "--dest", str(out), *specs,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=out)
        for match in _SAVED.finditer(done.stdout):
            path = (out / match["path"]).resolve()
            got[canonicalize_name(parse_wheel_filename(path.name)[0])] = path
        if done.returncode == 0:
            break
        failed = _NO_WHEEL.search(done.stderr)
        if failed is None:
            raise SystemExit(f"pip download failed for {target.name}: {done.stderr.strip().splitlines()[-1:]}")
        requirement = Requirement(failed["req"])
        name = canonicalize_name(requirement.name)
        if name not in retried:  # pip says the same when the index did not answer: ask once more, first
            retried.add(name)
            specs = sorted(specs, key=lambda spec: canonicalize_name(Requirement(spec).name) != name)
        else:
            target.missing[name] = str(requirement)
        specs = [s for s in specs if canonicalize_name(Requirement(s).name) not in (*got, *target.missing)]
    return got


def collect(target: Target, wanted: list[Requirement], pinned: dict[str, str], out: Path) -> None:
    """Every wheel ``wanted`` needs on ``target``: the pinned versions, and what their metadata adds there."""
    env = target.markers()
    extras_of: dict[str, set[str]] = {}  # every package asked for, with the extras asked of it
    asked: list[tuple[Requirement, set[str]]] = [(requirement, set()) for requirement in wanted]
    while asked:
        fetch: dict[str, str] = {}
        follow: set[str] = set()  # packages whose requirements must be read (again, with more extras)
        for requirement, parent_extras in asked:
            name = canonicalize_name(requirement.name)
            if not applies(requirement, env, parent_extras) or name in target.missing:
                continue
            new_extras = set(requirement.extras) - extras_of.get(name, set())
            if name not in extras_of:
                fetch[name] = f"{name}=={pinned[name]}" if name in pinned else f"{name}{requirement.specifier}"
            elif new_extras:
                follow.add(name)
            extras_of.setdefault(name, set()).update(requirement.extras)
        got = download(target, list(fetch.values()), out) if fetch else {}
        lost = [name for name in fetch if name not in got and name not in target.missing]
        if lost:
            raise SystemExit(f"pip download said nothing about {', '.join(lost)} for {target.name}")
        target.wheels.update(got)
        follow |= set(got)
        asked = [
            (requirement, extras_of[name])
            for name in sorted(follow)
            if name in target.wheels
            for requirement in metadata_requirements(target.wheels[name])
        ]


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/wheelhouse.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", nargs="+", choices=list(PLATFORMS), default=list(PLATFORMS))
    parser.add_argument("--python", nargs="+", default=list(PYTHONS), metavar="X.Y", help="default: 3.11 3.12 3.13")
    parser.add_argument(
        "--extras", default="lab,test", help="pyproject extras besides the runtime ones (default lab,test)"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="the folder (default wheelhouse/)")
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    args = parser.parse_args(argv)
    bad = [p for p in args.python if not re.fullmatch(r"3\.1[1-9]", p)]
    if bad:
        print(f"--python {bad[0]}: the workshop needs Python 3.11 or newer (e.g. 3.12)", file=sys.stderr)
        return 2
    try:
        wanted = roots(ROOT / "pyproject.toml", [e.strip() for e in args.extras.split(",") if e.strip()])
    except SystemExit as exc:
        print(exc.code, file=sys.stderr)
        return 2
    pinned = pins(args.constraints)
    args.out.mkdir(parents=True, exist_ok=True)
    targets = [Target(platform, python) for platform in args.platform for python in args.python]
    for target in targets:
        collect(target, wanted, pinned, args.out.resolve())
        gap = f"; NO WHEEL for {', '.join(sorted(target.missing.values()))}" if target.missing else ""
        print(f"{target.name}: {len(target.wheels)} wheels, {megabytes(target.size)}{gap}", flush=True)
    total = sum(path.stat().st_size for path in args.out.glob("*.whl"))
    print(f"{args.out}: {len(list(args.out.glob('*.whl')))} wheels, {megabytes(total)} in all")
    return 1 if any(target.missing for target in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
