"""Every notebook's shape, read from the stored file alone (fast: no kernel, no server).

For each ``notebooks/NN_*.ipynb``: its stored outputs are a learner's first run (no
temporary path, no port but 7233/8233/8888), its ``show_source`` listings are today's code
and were stored after the last change to the files they show, it starts with what you
will learn / time / prerequisites and ends with summary, exercise, questions, clean up and
a link to the next notebook, its time agrees with the README's table, its exercise is
stored unsolved, every cell ran without an unexpected error, and it has at most 60 cells.

Each check is a function ``(path, nb, series) -> [problem, ...]``; every problem names the
notebook and the cell and says what to do. The ``*_catches_*`` tests run the same checks on
small synthetic notebooks built in ``tmp_path``, so each check is shown to pass on a good
notebook and to fail on each defect it is there for.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

try:  # tests/ may or may not become a package
    from .helpers import notebooks_tool
except ImportError:
    from helpers import notebooks_tool


ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"


tool = notebooks_tool()

RERUN = "rerun `make notebooks ONLY={nn}`"
TEMPORARY = re.compile(r"/tmp/|pytest-of-|saga-lab-test-|/var/folders/|/private/var/")
LOOPBACK = re.compile(r"\b(?:127\.0\.0\.1|localhost):(\d+)\b")
LEARNER_PORTS = {"7233", "8233", "8888"}
TITLE = re.compile(r"^# (\d\d) · \S.*$")
TIME = re.compile(r"\*\*Time:\*\*\s*about (\d+) minutes\b")
NEXT = re.compile(r"^\*\*Next:\*\* \[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)$")
README_ROW = re.compile(r"^\| `(?P<name>\d\d_\w+)` \|(?P<rest>.*)$", re.M)
README_MINUTES = re.compile(r"\b(\d+) ?min\b")
#: The closing sections, in this order (the apostrophe of "What's" may be typographic).
SECTIONS = (
    ("## Summary", re.compile(r"^## Summary\s*$", re.M)),
    ("## Exercise", re.compile(r"^## Exercise\b.*$", re.M)),
    ("## Check your understanding", re.compile(r"^## Check your understanding\s*$", re.M)),
    ("## Clean up", re.compile(r"^## Clean up\s*$", re.M)),
    ("## What's next", re.compile(r"^## What['’]s next\s*$", re.M)),
)


@dataclass(frozen=True)
class Series:
    """The notebooks checked together: where they are, the README that lists them, where listed files live."""

    folder: Path = NOTEBOOKS
    readme: Path = README
    root: Path = ROOT

    @property
    def paths(self) -> list[Path]:
        return tool.notebook_paths(folder=self.folder)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _src(cell: dict) -> str:
    return tool.text_of(cell.get("source", ""))


def _where(path: Path, index: int, cell: dict) -> str:
    return f"{path.name} cell {index} ({tool._first_line(cell)})"


def _nn(path: Path) -> str:
    return path.name[:2]


def _markdown(nb: dict) -> list[tuple[int, str]]:
    return [(i, _src(c)) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "markdown"]


def _code(nb: dict) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]


def _minutes(nb: dict) -> int | None:
    for _, text in _markdown(nb):
        match = TIME.search(text)
        if match:
            return int(match.group(1))
    return None


# ---------------------------------------------------------------- the checks


def check_learner_outputs(path: Path, nb: dict, series: Series) -> list[str]:
    """No stored output shows a temporary path or a loopback port other than the learner's 7233/8233/8888."""
    problems = []
    for index, cell in _code(nb):
        for kind, text in tool.text_outputs(cell):
            temporary = TEMPORARY.search(text)
            if temporary:
                line = next(x for x in text.splitlines() if temporary.group(0) in x).strip()[:120]
                problems.append(
                    f"{_where(path, index, cell)}: its {kind} output shows a temporary path ({line!r}): the outputs "
                    f"come from a test run, not a learner's; {RERUN.format(nn=_nn(path))}"
                )
            ports = sorted({port for port in LOOPBACK.findall(text) if port not in LEARNER_PORTS})
            if ports:
                problems.append(
                    f"{_where(path, index, cell)}: its {kind} output shows loopback port(s) {', '.join(ports)}, "
                    f"not the learner's 7233/8233: {RERUN.format(nn=_nn(path))}"
                )
    return problems


def _todays_object(listing, root: Path):
    """The object a listing names, imported now (``saga_lab/x.py`` as ``saga_lab.x``; notebooks/ as its own root)."""
    relative = Path(listing.path)
    if relative.parts[0] == "notebooks":
        folder = str(root / "notebooks")
        if folder not in sys.path:
            sys.path.insert(0, folder)
        relative = relative.relative_to("notebooks")
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    module = importlib.import_module(".".join(parts))
    if listing.qualname == module.__name__:
        return module
    obj = module
    for name in listing.qualname.split("."):
        obj = getattr(obj, name)
    return obj


def check_listings_are_todays_code(path: Path, nb: dict, series: Series) -> list[str]:
    """Every stored ``show_source`` listing equals today's source of the object it names."""
    problems = []
    for listing in tool.listings(nb):
        cell = nb["cells"][listing.cell]
        where = f"{_where(path, listing.cell, cell)}: the listing of {listing.path}: {listing.qualname}"
        try:
            obj = _todays_object(listing, series.root)
            code = inspect.getsource(inspect.unwrap(obj))
        except (ImportError, AttributeError, OSError, TypeError) as err:
            problems.append(f"{where} names an object that no longer exists ({err}): show an existing one")
            continue
        expected = f"# {listing.path}: {listing.qualname}\n{code}".rstrip("\n")
        stored = listing.text.rstrip("\n") if listing.kind == "text/plain" else listing.text[: len(expected)]
        if stored != expected:
            diff = difflib.unified_diff(stored.splitlines(), expected.splitlines(), "stored", "today", lineterm="", n=0)
            changed = [line for line in list(diff)[2:] if not line.startswith("@@")][:4]
            problems.append(f"{where} is not today's code ({' | '.join(changed)[:240]}): {RERUN.format(nn=_nn(path))}")
    return problems


def check_sources_recorded(path: Path, nb: dict, series: Series) -> list[str]:
    """``metadata.saga_lab.sources`` holds today's sha256 of every file the notebook's listings show."""
    recorded = nb.get("metadata", {}).get("saga_lab", {}).get("sources")
    shown = sorted({listing.path for listing in tool.listings(nb)})
    if recorded is None:
        if not shown:
            return []
        return [
            f"{path.name}: shows the source of {', '.join(shown)} but has no metadata.saga_lab.sources, so nothing "
            f"tells when the code changed after its outputs were stored: {RERUN.format(nn=_nn(path))}"
        ]
    problems = [
        f"{path.name}: shows {file} but metadata.saga_lab.sources does not list it: {RERUN.format(nn=_nn(path))}"
        for file in shown
        if file not in recorded
    ]
    for file, digest in sorted(recorded.items()):
        target = series.root / file
        today = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else None
        if today != digest:
            change = "was removed" if today is None else "changed"
            problems.append(
                f"{path.name}: {file} {change} after this notebook's outputs were stored (sha256 {digest[:12]}... "
                f"recorded): {RERUN.format(nn=_nn(path))}"
            )
    return problems


def check_header(path: Path, nb: dict, series: Series) -> list[str]:
    """``# NN · Title``, **What you will learn**, **Time:** about N minutes and **Prerequisites:** come first."""
    cells = nb.get("cells", [])
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), len(cells))
    top = "\n".join(text for i, text in _markdown(nb) if i < first_code)
    problems = []
    title = (
        _src(cells[0]).splitlines()[0] if cells and cells[0].get("cell_type") == "markdown" and _src(cells[0]) else ""
    )
    match = TITLE.match(title)
    if not match or match.group(1) != _nn(path):
        problems.append(f"{path.name}: its first cell must be a markdown title `# {_nn(path)} · Title`, not {title!r}")
    for label, pattern in (
        ("**What you will learn**", r"\*\*What you will learn\*\*"),
        ("**Time:** about N minutes", TIME.pattern),
        ("**Prerequisites:**", r"\*\*Prerequisites:\*\*"),
    ):
        if not re.search(pattern, top):
            problems.append(f"{path.name}: add `{label}` to the markdown above the first code cell")
    return problems


def check_closing_sections(path: Path, nb: dict, series: Series) -> list[str]:
    """Summary, Exercise, Check your understanding (answers in one <details> cell), Clean up, What's next, in order."""
    found: dict[str, int] = {}
    for index, text in _markdown(nb):
        for label, pattern in SECTIONS:
            if label not in found and pattern.search(text):
                found[label] = index
    missing = [label for label, _ in SECTIONS if label not in found]
    problems = [f"{path.name}: add a markdown heading `{label}` near the end" for label in missing]
    order = [found[label] for label, _ in SECTIONS if label in found]
    if order != sorted(order):
        problems.append(
            f"{path.name}: the closing sections must come in this order: {', '.join(label for label, _ in SECTIONS)} "
            f"(found at cells {', '.join(f'{label} {index}' for label, index in found.items())})"
        )
    start = found.get("## Check your understanding")
    if start is not None:
        end = found.get("## Clean up", len(nb["cells"]))
        answers = [(i, text) for i, text in _markdown(nb) if start <= i < end and "<summary>Answers</summary>" in text]
        if len(answers) != 1:
            problems.append(
                f"{path.name}: under `## Check your understanding`, put the answers in ONE markdown cell "
                f"`<details><summary>Answers</summary> ... </details>` (found {len(answers)})"
            )
        else:
            index, text = answers[0]
            head = text.index("<summary>Answers</summary>")
            if "<details>" not in text[:head] or "</details>" not in text[head:]:
                problems.append(
                    f"{_where(path, index, nb['cells'][index])}: wrap the answers in "
                    "`<details><summary>Answers</summary> ... </details>`"
                )
    return problems


def _title(path: Path) -> str | None:
    """``NN · Title`` from a notebook's first heading, when it has one."""
    cells = _load(path).get("cells", []) if path.is_file() else []
    first = _src(cells[0]).splitlines()[0] if cells and _src(cells[0]) else ""
    return first.removeprefix("# ").strip() if TITLE.match(first) else None


def check_next_link(path: Path, nb: dict, series: Series) -> list[str]:
    """The last cell is markdown whose last line is ``**Next:** [NN · Title](NN_file.ipynb)`` to the next notebook."""
    paths = series.paths
    position = [p.name for p in paths].index(path.name)
    if position + 1 < len(paths):
        targets = [paths[position + 1].name]
    else:
        targets = ["../README.md"] + [paths[0].name] * (paths[0] != path)
    if targets[0].endswith(".ipynb"):
        example = f"**Next:** [{_title(series.folder / targets[0]) or targets[0][:2] + ' · Title'}]({targets[0]})"
    else:
        example = "**Next:** [Back to the README](../README.md)"
    cells = nb.get("cells", [])
    if not cells or cells[-1].get("cell_type") != "markdown":
        return [f"{path.name}: end with a markdown cell (`## What's next`) whose last line is `{example}`"]
    lines = [line.strip() for line in _src(cells[-1]).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    match = NEXT.match(last)
    where = _where(path, len(cells) - 1, cells[-1])
    if not match:
        return [f"{where}: its last line must be `{example}`, not {last[:100]!r}"]
    target, text = match.group("target"), match.group("text")
    if target not in targets:
        return [f"{where}: the Next link goes to {target}; it must go to {' or '.join(targets)}: `{example}`"]
    title = _title(series.folder / target) if target.endswith(".ipynb") else None
    if title and text != title:
        return [f"{where}: the Next link's text must be the next notebook's title: `**Next:** [{title}]({target})`"]
    return []


CROSS_LINK = re.compile(r"\[(?P<text>\d\d · [^\]]+)\]\((?P<target>\d\d_\w+\.ipynb)(?:#[^)]*)?\)")


def check_cross_links(path: Path, nb: dict, series: Series) -> list[str]:
    """Every ``[NN · Title](NN_file.ipynb)`` goes to a notebook there is, named by its title (or what precedes ':')."""
    problems = []
    for index, text in _markdown(nb):
        for link in CROSS_LINK.finditer(text):
            target, shown = link.group("target"), link.group("text")
            title = _title(series.folder / target)
            where = _where(path, index, nb["cells"][index])
            if title is None:
                problems.append(f"{where}: links to {target}, but there is no notebook {target}: fix the link")
            elif shown not in (title, title.split(":")[0]):
                problems.append(f"{where}: the link to {target} says {shown!r}: use its title, `{title.split(':')[0]}`")
    return problems


def _readme_minutes(readme: Path) -> dict[str, int | None]:
    rows = {}
    for match in README_ROW.finditer(readme.read_text() if readme.is_file() else ""):
        minutes = README_MINUTES.search(match.group("rest"))
        rows[match.group("name")] = int(minutes.group(1)) if minutes else None
    return rows


def _total(series: Series) -> str:
    times = {p.stem: _minutes(_load(p)) for p in series.paths}
    known = sum(t for t in times.values() if t)
    unknown = [name for name, t in times.items() if not t]
    note = f" ({len(unknown)} notebook(s) give no time)" if unknown else ""
    return f"the series' times add up to {known} min = {known // 60} h {known % 60:02d} min{note}"


def check_time_in_readme(path: Path, nb: dict, series: Series) -> list[str]:
    """The README's notebook table (rows ``| `NN_name` | ... N min ...``) gives this notebook's **Time:**."""
    minutes = _minutes(nb)
    if minutes is None:
        return [f"{path.name}: give `**Time:** about N minutes` at the top; {_total(series)}"]
    rows = _readme_minutes(series.readme)
    if path.stem not in rows:
        return [
            f"{path.name}: the README's notebook table has no row `| `{path.stem}` | ... {minutes} min ... |`; "
            f"{_total(series)}"
        ]
    if rows[path.stem] != minutes:
        said = f"{rows[path.stem]} min" if rows[path.stem] is not None else "no minutes"
        return [
            f"{path.name}: says about {minutes} minutes, the README's row for `{path.stem}` says {said}: make them "
            f"agree; {_total(series)}"
        ]
    return []


def check_exercise_stored_unsolved(path: Path, nb: dict, series: Series) -> list[str]:
    """Check cells are stored saying ``NOT YET:`` (a stored PASS is a defect); each exercise cell has its solution."""
    problems, checks = [], 0
    cells = nb.get("cells", [])
    for index, cell in _code(nb):
        lines = tool.verdicts(cell)
        if not lines:
            continue
        checks += 1
        if any(line.startswith("PASS:") for line in lines):
            problems.append(
                f"{_where(path, index, cell)}: the exercise check is stored saying PASS: store the notebook unsolved "
                f"(its practice module with its TODOs, SAGA_LAB_SOLUTIONS unset), then {RERUN.format(nn=_nn(path))}"
            )
        elif not any(line.startswith("NOT YET:") for line in lines):
            problems.append(f"{_where(path, index, cell)}: the exercise check must print one `NOT YET: ...` line")
    if checks == 0 and _nn(path) != "00":
        problems.append(
            f"{path.name}: no exercise check cell (a code cell whose stored output is a `NOT YET: ...` line): "
            "add the exercise's check cell and store its unsolved output"
        )
    for index, cell in enumerate(cells):
        if "exercise" not in tool.cell_tags(cell):
            continue
        following = next((c for c in cells[index + 1 :] if {"exercise", "solution"} & set(tool.cell_tags(c))), None)
        if following is None or "solution" not in tool.cell_tags(following) or following["cell_type"] != "markdown":
            problems.append(
                f"{_where(path, index, cell)}: is tagged `exercise` but no markdown cell tagged `solution` follows it "
                "(the solved pass of the tests swaps that cell's ```python fence in)"
            )
        elif not re.search(r"```python\n.*?```", _src(following), re.S):
            problems.append(
                f"{_where(path, index, cell)}: its `solution` cell needs the full replacement cell in a ```python fence"
            )
    return problems


def check_cells_ran(path: Path, nb: dict, series: Series) -> list[str]:
    """Every code cell ran, top to bottom in one kernel; only cells tagged ``raises-exception`` stored an error."""
    problems = []
    counts = []
    rerun = RERUN.format(nn=_nn(path))
    for index, cell in _code(nb):
        where = _where(path, index, cell)
        if not _src(cell).strip():
            problems.append(f"{where}: an empty code cell: remove it")
            continue
        counts.append(cell.get("execution_count"))
        if cell.get("execution_count") is None:
            problems.append(f"{where}: never ran (no stored execution): {rerun}")
        tagged = "raises-exception" in tool.cell_tags(cell)
        marked = _src(cell).lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and not tagged:
            error = errors[0]
            problems.append(
                f"{where}: stored an error ({error.get('ename')}: {str(error.get('evalue'))[:120]}): fix the cell; if "
                "the error is the lesson, start it with `# NBVAL_RAISES_EXCEPTION` and tag it `raises-exception`"
            )
        if tagged != marked:
            problems.append(
                f"{where}: a cell meant to raise needs BOTH the first line `# NBVAL_RAISES_EXCEPTION` and the tag "
                "`raises-exception` (one of them is missing)"
            )
        elif tagged and not errors:
            problems.append(f"{where}: is marked to raise but its stored output has no error: {rerun}")
    ran = [c for c in counts if c is not None]
    if ran and ran != list(range(1, len(ran) + 1)):
        problems.append(
            f"{path.name}: execution counts {ran[:12]}{'...' if len(ran) > 12 else ''} are not 1, 2, 3, ...: the "
            f"stored outputs are not one run top to bottom: {rerun}"
        )
    return problems


#: A notebook a learner reads cell by cell: past this, split it or move a part to where it belongs.
MAX_CELLS = 60


def check_cell_count(path: Path, nb: dict, series: Series) -> list[str]:
    """At most ``MAX_CELLS`` cells."""
    count = len(nb.get("cells", []))
    if count <= MAX_CELLS:
        return []
    return [
        f"{path.name}: {count} cells, more than {MAX_CELLS}: merge what is said twice, or move a part to the "
        "notebook where it belongs"
    ]


CHECKS: dict[str, Callable[[Path, dict, Series], list[str]]] = {
    "learner_outputs": check_learner_outputs,
    "listings": check_listings_are_todays_code,
    "sources": check_sources_recorded,
    "header": check_header,
    "closing_sections": check_closing_sections,
    "next_link": check_next_link,
    "cross_links": check_cross_links,
    "time_in_readme": check_time_in_readme,
    "exercise_unsolved": check_exercise_stored_unsolved,
    "cells_ran": check_cells_ran,
    "cell_count": check_cell_count,
}


def _problems(path: Path, name: str, series: Series = Series()) -> list[str]:
    return CHECKS[name](path, _load(path), series)


# ---------------------------------------------------------------- the real notebooks

PATHS = tool.notebook_paths()


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook(path: Path, check: str) -> None:
    problems = _problems(path, check)
    if problems:
        pytest.fail(f"{CHECKS[check].__doc__.strip()}\n  " + "\n  ".join(problems), pytrace=False)


def numbering_problems(paths: list[Path]) -> list[str]:
    """Numbers 00, 01, 02, ... each once (the Next links and the workflow prefixes nbNN- rely on it)."""
    numbers = [p.name[:2] for p in paths]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    gaps = [f"{n:02d}" for n in range(int(max(numbers, default="0")) + 1) if f"{n:02d}" not in numbers]
    problems = [f"notebooks numbered {n} twice: {', '.join(p.name for p in paths if p.name[:2] == n)}" for n in twice]
    if gaps:
        problems.append(f"no notebook numbered {', '.join(gaps)}: number them 00, 01, 02, ... without a gap")
    return problems


def test_notebooks_are_numbered_once_each_without_gaps() -> None:
    problems = numbering_problems(PATHS)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_numbering_check_catches_twins_and_gaps() -> None:
    names = ["00_a.ipynb", "01_b.ipynb", "01_c.ipynb", "03_d.ipynb"]
    assert numbering_problems([Path(n) for n in names]) == [
        "notebooks numbered 01 twice: 01_b.ipynb, 01_c.ipynb",
        "no notebook numbered 02: number them 00, 01, 02, ... without a gap",
    ]
    assert numbering_problems([Path("00_a.ipynb"), Path("01_b.ipynb")]) == []


def test_readme_table_lists_the_notebooks_there_are() -> None:
    rows = _readme_minutes(README)
    stems = [p.stem for p in PATHS]
    extra = [name for name in rows if name not in stems]
    missing = [name for name in stems if name not in rows]
    if extra or missing:
        pytest.fail(
            "README.md's notebook table (rows `| `NN_name` | ... N min ... |`) must list exactly "
            f"notebooks/NN_*.ipynb: "
            f"rows for missing files {extra}, files with no row {missing}; {_total(Series())}",
            pytrace=False,
        )


# ---------------------------------------------------------------- the checks, proven on synthetic notebooks


def _listing_of(obj) -> str:
    from saga_lab.notebook import show_source

    return show_source(obj).text.rstrip("\n")


def _good_notebook(nn: str, title: str, next_link: str, minutes: int = 30) -> dict:
    import nbformat.v4 as v4

    from saga_lab import checkout

    def code(source: str, count: int, text: str | None = None, plain: str | None = None) -> dict:
        outputs = []
        if text is not None:
            outputs.append(v4.new_output("stream", name="stdout", text=text))
        if plain is not None:
            outputs.append(v4.new_output("execute_result", data={"text/plain": plain}, execution_count=count))
        return v4.new_code_cell(source, execution_count=count, outputs=outputs)

    cells = [
        v4.new_markdown_cell(
            f"# {nn} · {title}\n\n**What you will learn**\n- one thing\n\n**Time:** about {minutes} minutes\n\n"
            "**Prerequisites:** [00 · Setup](00_setup.ipynb)"
        ),
        v4.new_markdown_cell("## 1. Set up"),
        code(
            "lab = await Lab.start()\nlab",
            1,
            plain="Temporal server 127.0.0.1:7233 (namespace default), Web UI http://127.0.0.1:8233, workers: payment",
        ),
        code("show_source(checkout.new_order_id)", 2, plain=_listing_of(checkout.new_order_id)),
        code("# NBVAL_RAISES_EXCEPTION\nplace_order(client, 'x', -1)", 3),
        v4.new_markdown_cell("## Summary\n\n- a point"),
        v4.new_markdown_cell("## Exercise\n\nEdit `exercises/e01_x.py`."),
        code("total = None  # TODO", 4),
        v4.new_markdown_cell("<details><summary>Solution</summary>\n\n```python\ntotal = 3\n```\n</details>"),
        code("await checks.e01_x.check(lab.client)", 5, text="NOT YET: the total is missing\n"),
        v4.new_markdown_cell("## Check your understanding\n\n1. Why?\n2. How?\n3. When?"),
        v4.new_markdown_cell("<details><summary>Answers</summary>\n\n1. Because.\n</details>"),
        v4.new_markdown_cell("## Clean up"),
        code("print(await lab.stop())", 6, text="the Temporal server at 127.0.0.1:7233 keeps running\n"),
        v4.new_markdown_cell(f"## What's next\n\nMore.\n\n{next_link}"),
    ]
    raising = cells[4]
    raising["metadata"] = {"tags": ["raises-exception"]}
    raising["outputs"] = [v4.new_output("error", ename="InvalidAmount", evalue="amount must be > 0", traceback=[])]
    cells[7]["metadata"] = {"tags": ["exercise"]}
    cells[8]["metadata"] = {"tags": ["solution"]}
    nb = v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb["metadata"]["saga_lab"] = {"sources": tool.displayed_sources(nb)}
    return json.loads(json.dumps(nb))


@pytest.fixture
def series(tmp_path: Path) -> Series:
    """Two good notebooks, 00 and 01, and a README whose table gives their times."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    first = _good_notebook("00", "Setup", "**Next:** [01 · Beta](01_beta.ipynb)", minutes=20)
    second = _good_notebook("01", "Beta", "**Next:** [Back to the README](../README.md)", minutes=45)
    (folder / "00_setup.ipynb").write_text(json.dumps(first))
    (folder / "01_beta.ipynb").write_text(json.dumps(second))
    (tmp_path / "README.md").write_text(
        "| notebook | time | what you do |\n|---|---|---|\n| `00_setup` | 20 min | set up |\n"
        "| `01_beta` | 45 min | learn |\n"
    )
    return Series(folder=folder, readme=tmp_path / "README.md", root=ROOT)


def _defect(series: Series, change: Callable[[dict], None], name: str = "01_beta.ipynb") -> Path:
    path = series.folder / name
    nb = _load(path)
    change(nb)
    path.write_text(json.dumps(nb))
    return path


def _output(nb: dict, cell: int) -> dict:
    return nb["cells"][cell]["outputs"][0]


def test_good_synthetic_notebooks_pass_every_check(series: Series) -> None:
    for path in series.paths:
        for name, check in CHECKS.items():
            assert check(path, _load(path), series) == [], f"{name} on {path.name}"


def _set_text(cell: int, text: str):
    def change(nb: dict) -> None:
        output = _output(nb, cell)
        if output["output_type"] == "stream":
            output["text"] = text
        else:
            output["data"]["text/plain"] = text

    return change


def _edit_source(cell: int, old: str, new: str):
    def change(nb: dict) -> None:
        nb["cells"][cell]["source"] = tool.text_of(nb["cells"][cell]["source"]).replace(old, new)

    return change


def _drop_cell(cell: int):
    return lambda nb: nb["cells"].pop(cell)


def _set_meta(**sources):
    return lambda nb: nb["metadata"]["saga_lab"].update(sources=sources)


def _pad_cells(nb: dict) -> None:
    import nbformat.v4 as v4

    padding = [json.loads(json.dumps(v4.new_markdown_cell(f"More {i}."))) for i in range(MAX_CELLS)]
    nb["cells"][1:1] = padding


def _listing_edit(nb: dict) -> None:
    output = _output(nb, 3)
    output["data"]["text/plain"] = output["data"]["text/plain"].replace("def new_order_id", "def old_order_id")


DEFECTS = {
    # name: (the check that must catch it, what to break, words the message must contain)
    "tmp path": ("learner_outputs", _set_text(13, "data in /tmp/saga-lab-test-x1/payment.db\n"), "temporary path"),
    "pytest dir": ("learner_outputs", _set_text(13, "see /root/pytest-of-root/x\n"), "temporary path"),
    "test port": ("learner_outputs", _set_text(2, "Temporal server 127.0.0.1:41725"), "41725"),
    "listing out of date": ("listings", _listing_edit, "not today's code"),
    "listing of a gone object": ("listings", _set_text(3, "# saga_lab/checkout.py: no_such_thing\npass"), "no longer"),
    "no sources metadata": ("sources", lambda nb: nb["metadata"].pop("saga_lab"), "no metadata.saga_lab.sources"),
    "stale sources": ("sources", _set_meta(**{"saga_lab/checkout.py": "0" * 64}), "changed after"),
    "unlisted source": ("sources", _set_meta(), "does not list it"),
    "no title": ("header", _edit_source(0, "# 01 · Beta", "# Beta"), "title"),
    "no time": ("header", _edit_source(0, "**Time:** about 45 minutes", ""), "**Time:**"),
    "no prerequisites": ("header", _edit_source(0, "**Prerequisites:**", "Before:"), "Prerequisites"),
    "no learn": ("header", _edit_source(0, "**What you will learn**", "Goals"), "What you will learn"),
    "no summary": ("closing_sections", _edit_source(5, "## Summary", "## Recap"), "## Summary"),
    "no exercise": ("closing_sections", _edit_source(6, "## Exercise", "## Practice"), "## Exercise"),
    "no questions": ("closing_sections", _edit_source(10, "## Check your understanding", "## Quiz"), "understanding"),
    "answers open": ("closing_sections", _edit_source(11, "<details>", ""), "<details>"),
    "answers missing": ("closing_sections", _drop_cell(11), "ONE markdown cell"),
    "no clean up": ("closing_sections", _edit_source(12, "## Clean up", "## Tidy"), "## Clean up"),
    "no whats next": ("closing_sections", _edit_source(14, "## What's next", "## Then"), "What's next"),
    "sections out of order": ("closing_sections", lambda nb: nb["cells"].insert(4, nb["cells"].pop(12)), "order"),
    "next missing": (
        "next_link",
        _edit_source(14, "**Next:** [Back to the README](../README.md)", "Bye."),
        "last line",
    ),
    "next not last cell": ("next_link", lambda nb: nb["cells"].append(nb["cells"][13]), "end with a markdown cell"),
    "next wrong file": ("next_link", _edit_source(14, "../README.md", "07_other.ipynb"), "must go to"),
    "link to a gone notebook": (
        "cross_links",
        _edit_source(5, "## Summary", "## Summary\n\nSee [05 · Gone](05_gone.ipynb)."),
        "no notebook",
    ),
    "link with an old title": (
        "cross_links",
        _edit_source(5, "## Summary", "## Summary\n\nSee [00 · Set-up](00_setup.ipynb)."),
        "00 · Setup",
    ),
    "time not in readme": ("time_in_readme", _edit_source(0, "about 45 minutes", "about 50 minutes"), "says 45 min"),
    "check stored pass": ("exercise_unsolved", _set_text(9, "PASS: the total is right\n"), "stored saying PASS"),
    "no check cell": ("exercise_unsolved", _set_text(9, "done\n"), "no exercise check cell"),
    "exercise without solution": ("exercise_unsolved", lambda nb: nb["cells"][8].update(metadata={}), "solution"),
    "solution without fence": ("exercise_unsolved", _edit_source(8, "```python", "```"), "python"),
    "unrun cell": ("cells_ran", lambda nb: nb["cells"][7].update(execution_count=None), "never ran"),
    "counts not in order": ("cells_ran", lambda nb: nb["cells"][2].update(execution_count=9), "not 1, 2, 3"),
    "empty cell": ("cells_ran", lambda nb: nb["cells"][7].update(source="", execution_count=None), "empty"),
    "untagged error": ("cells_ran", lambda nb: nb["cells"][4].update(metadata={}), "stored an error"),
    "tag without comment": ("cells_ran", _edit_source(4, "# NBVAL_RAISES_EXCEPTION\n", ""), "BOTH"),
    "raises but no error": ("cells_ran", lambda nb: nb["cells"][4].update(outputs=[]), "no error"),
    "too many cells": ("cell_count", _pad_cells, "more than 60"),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_check_catches_its_defect(series: Series, defect: str) -> None:
    check, change, words = DEFECTS[defect]
    path = _defect(series, change)
    problems = CHECKS[check](path, _load(path), series)
    assert problems, f"{check} missed the defect {defect!r}"
    assert any(words in problem for problem in problems), problems
    assert all(problem.startswith("01_beta.ipynb") for problem in problems), problems


def test_the_next_link_of_the_first_notebook_goes_to_the_second(series: Series) -> None:
    path = _defect(series, _edit_source(14, "(01_beta.ipynb)", "(00_setup.ipynb)"), name="00_setup.ipynb")
    assert any("must go to 01_beta.ipynb" in p for p in check_next_link(path, _load(path), series))


def test_the_next_link_names_the_next_notebooks_title(series: Series) -> None:
    path = _defect(series, _edit_source(14, "[01 · Beta]", "[01 · Gamma]"), name="00_setup.ipynb")
    assert any("[01 · Beta](01_beta.ipynb)" in p for p in check_next_link(path, _load(path), series))


def test_the_last_notebook_may_link_back_to_00(series: Series) -> None:
    path = _defect(series, _edit_source(14, "[Back to the README](../README.md)", "[00 · Setup](00_setup.ipynb)"))
    assert check_next_link(path, _load(path), series) == []


def test_a_readme_without_the_row_fails_and_prints_the_total(series: Series) -> None:
    series.readme.write_text(series.readme.read_text().replace("| `01_beta` | 45 min | learn |\n", ""))
    problems = check_time_in_readme(series.folder / "01_beta.ipynb", _load(series.folder / "01_beta.ipynb"), series)
    assert problems and "no row" in problems[0] and "65 min = 1 h 05 min" in problems[0], problems


def test_a_listing_printed_to_stdout_is_checked_too(series: Series) -> None:
    from saga_lab import checkout

    listing = _listing_of(checkout.new_order_id) + "\n"

    def printed(nb: dict, text: str) -> None:
        nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]

    good = _defect(series, lambda nb: printed(nb, listing + "and a line after it\n"))
    assert check_listings_are_todays_code(good, _load(good), series) == []
    bad = _defect(series, lambda nb: printed(nb, listing.replace("def new_order_id", "def gone")))
    assert check_listings_are_todays_code(bad, _load(bad), series)


def test_a_stored_notebook_copy_is_not_changed_by_the_checks(series: Series) -> None:
    path = series.folder / "01_beta.ipynb"
    before = path.read_text()
    nb = _load(path)
    snapshot = copy.deepcopy(nb)
    for check in CHECKS.values():
        check(path, nb, series)
    assert nb == snapshot and path.read_text() == before


# ---------------------------------------------------------------- `tools/notebooks.py --diff`: two runs compared


def _run_output(text: str, picture: str) -> dict:
    import nbformat.v4 as v4

    cells = [
        v4.new_markdown_cell("# 04 · Title"),
        v4.new_code_cell(
            "place_order(...)",
            execution_count=1,
            outputs=[
                v4.new_output("stream", name="stdout", text=text),
                v4.new_output("display_data", data={"image/png": picture, "text/plain": "<Figure>"}),
            ],
        ),
    ]
    return json.loads(json.dumps(v4.new_notebook(cells=cells)))


def test_diff_ignores_what_sanitize_cfg_replaces_and_pictures() -> None:
    sanitize = tool.sanitizer()
    first = _run_output(
        "nb04-charge-3f2a9c COMPLETED at 2026-12-01T03:02:17.066287Z on 127.0.0.1:7233 in 2.3 s, "
        "run 0b7e1c3a-1111-4222-8333-444455556666\n",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB",
    )
    second = _run_output(
        "nb04-charge-a1b2c3 COMPLETED at 2026-12-02T10:00:00Z on 127.0.0.1:41725 in 310 ms, "
        "run 9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff\n",
        "iVBORw0KGgoAAAANSUhEUgAAAAIAAAAC",
    )
    assert tool.diff_notebooks(first, second, "04_x.ipynb", sanitize) == []


def test_diff_names_the_cell_whose_output_changed() -> None:
    sanitize = tool.sanitizer()
    first = _run_output("nb04-charge-3f2a9c COMPLETED\n", "A")
    second = _run_output("nb04-charge-a1b2c3 COMPENSATED\n", "A")
    problems = tool.diff_notebooks(first, second, "04_x.ipynb", sanitize)
    assert len(problems) == 1 and problems[0].startswith("04_x.ipynb cell 1 (place_order(...)): stdout differs")
    assert "-nb04-charge-XXXXXX COMPLETED | +nb04-charge-XXXXXX COMPENSATED" in problems[0], problems
    second["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": "A new paragraph."})
    assert (
        tool.diff_notebooks(first, second, "04_x.ipynb", sanitize)[0]
        == "04_x.ipynb cell 1 (A new paragraph.): new or edited"
    )
