"""Every notebook in JupyterLab, in headless Chromium, run the way a learner runs it: first as stored, then solved.

One JupyterLab for the module, started as ``make lab`` starts it but on a copy of ``notebooks/``
with an embedded Temporal server and ``SAGA_LAB_HOME`` of its own (``tests/jupyterlab_driver.py``),
kept for every pass of every notebook, as a learner's server is kept from one day to the next.
Each notebook gets two passes in a browser page of its own, run with the menu bar's *Kernel →
Restart Kernel and Run All Cells…*, confirmed with *Restart*; between them the page closes the
first notebook and opens the second (*File → Close Tab*, *File → Open from Path…*):

1. **as stored**: the notebook as it is in the repository (unsolved): its exercise check must say
   ``NOT YET``, as its stored output does;
2. **solved**, on the same server and home: a copy with every code cell tagged ``exercise``
   replaced by the ```python fence of the markdown cell tagged ``solution`` after it, on a kernel
   whose environment has ``SAGA_LAB_SOLUTIONS=1`` (checks load ``solutions/`` instead of
   ``exercises/``): every check must say ``PASS``.

After each pass (every cell ran, the kernel idle, then a few seconds more for output that arrives
after its cell finished) the test reads every cell's outputs from the page and fails on a cell the
run never reached or one still running at the deadline, an error in a cell not tagged
``raises-exception``, a ``Traceback`` printed on stderr in any cell, or a check verdict as above.

Both passes must start as many workflows (ids ``nbNN-...``, or ``<learner>/nbNN-...``), cell by
cell: the server stamps each run's start, and the cell that was running then (JupyterLab records
each cell's start and end: the pass saves the notebook, as Ctrl+S does) started it. A cell that
starts fewer the second time met a fixed id that already ran, so a learner who reruns it sees the
old outcome. Exercise and check cells are not compared (the solution may start work the unsolved
code does not). At the end, every workflow on the server must name its notebook (``nbNN-``) or
exercise check (``exNN-``).

Notebooks run two at a time (``LANES``), each pass with its own kernel and workers, on
the one server; this file runs half of them and ``test_jupyterlab_second_half.py`` the rest
(``SECOND_HALF``), side by side under ``pytest -n``, each with a server of its own. Notebooks 08
and 11 stop and restart Temporal servers of their own: 08 runs beside 05 and 11 beside 09
(``RESTARTING``, ``BESIDE``), whose calls must not notice. On failure a screenshot of the tab,
scrolled to the cell, goes to ``test-artifacts/``, and the message names the notebooks that ran
beside it. ``test-artifacts/<test file>-report.txt`` lists each pass's seconds and workflows and
every stderr output a learner saw. The driver's own tests come first (a late traceback, an untagged
error, a stuck cell), then the judging functions on made-up passes, then one synthetic notebook
end to end. Without Chromium the tests fail, saying how to install it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

try:  # tests/ may or may not become a package
    from . import jupyterlab_driver as driver
    from .helpers import longest_first
except ImportError:
    import jupyterlab_driver as driver
    from helpers import longest_first


REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
ALL_NOTEBOOKS = sorted(path.name for path in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: The notebooks ``tests/test_jupyterlab_second_half.py`` runs, in a test process of its own (``pytest -n``): the two
#: halves run side by side, each with its own JupyterLab, server and home, and take about as long (a pass of
#: each: 159 s and 167 s). 11 goes with 09, the notebook it runs beside; this file keeps 08 with 05.
SECOND_HALF = (
    "01_temporal_in_a_nutshell.ipynb",
    "04_failures_without_a_saga.ipynb",
    "06_cancellation_and_deadlines.ipynb",
    "09_visibility_and_debugging.ipynb",
    "11_chaos_at_scale.ipynb",
    "13_production.ipynb",
)
#: This file's notebooks: every one the second half does not run (a new notebook lands here).
NOTEBOOKS = [name for name in ALL_NOTEBOOKS if name not in SECOND_HALF]
#: Real seconds one Restart-and-Run-All of one notebook may take (the slowest took 50-95 s, two at a time).
NOTEBOOK_DEADLINE_S = 600
#: Notebooks running at once (each its own page, and kernel with workers); the machine has 2 cores.
LANES = 2
#: Notebooks that stop and restart Temporal servers of their own (one lane runs them first, one after the other) ...
RESTARTING = ("08_durability.ipynb", "11_chaos_at_scale.ipynb")
#: ... each beside a notebook that uses only the lab's server (the other lane starts it as the first has started).
BESIDE = ("05_compensation.ipynb", "09_visibility_and_debugging.ipynb")
#: The kernel of the solved pass: this interpreter, with the solutions in.
SOLUTIONS_KERNEL = "solutions"
SOLUTIONS_ENV = {"SAGA_LAB_SOLUTIONS": "1"}
PASSES = ("as stored", "solved")
PREFIXED = re.compile(r"^(?:[^/]+/)?(?:nb|ex)\d\d-")


@pytest.fixture(scope="module", autouse=True)
def chromium_installed() -> None:
    if driver.CHROMIUM is None:
        pytest.fail("no Chromium: `python tests/preflight.py` says how to install it (.ci/run installs it in CI)")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> driver.JupyterLab:
    workdir = tmp_path_factory.mktemp("jupyterlab")
    with driver.running_jupyterlab(REPO, workdir, kernels={SOLUTIONS_KERNEL: SOLUTIONS_ENV}) as lab:
        yield lab


@pytest.fixture(scope="module")
async def browser():
    async with driver.launched_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
async def temporal(jupyterlab):
    """A client of the kept server every pass runs on."""
    from temporalio.client import Client

    return await Client.connect(jupyterlab.settings.address)


# ---------------------------------------------------------------- the driver itself


def _write(path: Path, *cells: tuple[str, list[str]]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# what the test must see\n\n![remote](http://example.invalid/x.png)")
    ]
    notebook.cells += [nbformat.v4.new_code_cell(source, metadata={"tags": tags}) for source, tags in cells]
    nbformat.write(notebook, path)


async def test_the_driver_sees_what_a_learner_sees(jupyterlab, browser):
    """A traceback on stderr (one printed late, after the run ended), an untagged error, an unreached cell."""
    path = jupyterlab.root / "zz_driver_selftest.ipynb"
    _write(
        path,
        (
            "import asyncio, sys\nprint('PASS: shown')\n"
            "print('Traceback (most recent call last): now', file=sys.stderr)",
            [],
        ),
        ("raise ValueError('meant to')", ["raises-exception"]),
        (
            "async def late():\n    await asyncio.sleep(3)\n"
            "    print('Traceback (most recent call last): late', file=sys.stderr)\n"
            "task = asyncio.get_running_loop().create_task(late())",
            [],
        ),
        ("print('NOT YET: ok')", []),
        ("raise KeyError('not meant to')", []),
        ("print('never')", []),
    )
    notebook = jupyterlab.notebook(path.name)
    async with driver.NotebookTab(browser, jupyterlab, notebook) as tab:
        await tab.restart_and_run_all()
        await tab.wait_for_run(60)
        cells = await tab.cells()
        assert await tab.dialog() == ""
        windows = driver.execution_windows(await tab.save())
    jupyterlab.shutdown_kernels(path.name)
    assert tab.blocked == ["http://example.invalid/x.png"]  # refused: nothing leaves the machine
    found = driver.problems(notebook, cells, 1)
    assert [index for index, _ in found] == [1, 3, 5, 6], json.dumps(found, indent=1)
    assert "shows a traceback on stderr" in found[0][1] and "now" in found[0][1]
    assert "shows a traceback on stderr" in found[1][1] and "late" in found[1][1]
    assert "raised \"KeyError: 'not meant to'\"" in found[2][1]
    assert "cell 6 (`print('never')`) never ran" in found[3][1]
    assert driver.verdicts(cells, str) == {1: ["PASS: shown"], 4: ["NOT YET: ok"]}
    assert sorted(windows) == [1, 2, 3, 4, 5], windows  # the cells that ran, each from its start to its end
    assert all(began <= ended for began, ended in windows.values())
    assert windows[1][1] <= windows[2][0] <= windows[3][0]


async def test_a_stuck_cell_is_named_at_the_deadline(jupyterlab, browser):
    path = jupyterlab.root / "zz_driver_stuck.ipynb"
    _write(path, ("print('started')", []), ("import time\ntime.sleep(600)", []), ("print('after')", []))
    async with driver.NotebookTab(browser, jupyterlab, jupyterlab.notebook(path.name)) as tab:
        await tab.restart_and_run_all()
        with pytest.raises(driver.DriverError) as stuck:
            await tab.wait_for_run(8)
    jupyterlab.shutdown_kernels(path.name)
    assert "zz_driver_stuck.ipynb: the run did not end within 8 s; still running: cell 2 (`import time`)" in str(
        stuck.value
    )
    assert stuck.value.cell_index == 2


# ---------------------------------------------------------------- two passes: what is judged


@dataclass
class Pass:
    """One Restart-and-Run-All of one notebook: what the page showed, and the workflows it started."""

    notebook: str
    number: int
    started: float = 0.0  # monotonic, to tell which passes ran beside which
    ended: float = 0.0
    began_at: float = 0.0  # wall clock, to tell which runs on the server it started
    ended_at: float = 0.0
    seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    verdicts: dict[int, list[str]] = field(default_factory=dict)
    stderr: list[tuple[int, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    #: code cell index -> its source, and when it ran (wall clock)
    sources: dict[int, str] = field(default_factory=dict)
    windows: dict[int, tuple[float, float]] = field(default_factory=dict)
    #: code cell index -> ``nbNN-`` workflows started while it ran
    per_cell: dict[int, int] = field(default_factory=dict)
    checks: int = 0

    @property
    def label(self) -> str:
        return f"{self.notebook} pass {self.number} ({PASSES[self.number - 1]})"

    @property
    def workflows(self) -> int:
        return sum(self.per_cell.values())


def solved(nb: dict) -> tuple[dict, list[str]]:
    """``nb`` with each code cell tagged ``exercise`` replaced by the ```python fence of its ``solution`` cell,
    on the solutions kernel; and what stopped a swap."""
    nb = copy.deepcopy(nb)
    nb.setdefault("metadata", {})["kernelspec"] = {
        "name": SOLUTIONS_KERNEL,
        "display_name": f"Python 3 ({SOLUTIONS_KERNEL})",
        "language": "python",
    }
    problems = []
    cells = nb["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or "exercise" not in _tags(cell):
            continue
        following = next((c for c in cells[index + 1 :] if {"exercise", "solution"} & set(_tags(c))), None)
        fence = None
        if following is not None and "solution" in _tags(following):
            fence = re.search(r"```python\n(.*?)\n?```", _text(following.get("source", "")), re.S)
        if fence is None:
            problems.append(
                f"cell {index} is tagged `exercise` but no markdown cell tagged `solution` with a ```python fence "
                "follows it: the solved pass cannot swap the solution in"
            )
            continue
        cell["source"] = fence.group(1)
    return nb, problems


def _tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _head(source: str) -> str:
    return next((line for line in source.splitlines() if line.strip()), "")[:60]


def judge_verdicts(stored: dict[int, list[str]], first: Pass, second: Pass | None) -> list[str]:
    """Pass 1 says what the stored output says (NOT YET, never PASS); pass 2 says PASS wherever pass 1 judged."""
    found = []
    stored_words, shown = driver.verdict_words(stored), driver.verdict_words(first.verdicts)
    for index in sorted(set(stored_words) | set(shown)):
        where = f"{first.label} cell {index} ({_head(first.sources.get(index, ''))})"
        if any(word == "PASS" for word in shown.get(index, [])):
            found.append(
                f"{where}: the exercise check says PASS before the learner wrote anything "
                f"({first.verdicts[index][0][:120]}): the practice code must leave it saying NOT YET"
            )
        elif index in stored_words and stored_words[index] != shown.get(index, []):
            found.append(f"{where}: printed {first.verdicts.get(index, [])}, its stored output says {stored[index]}")
    if second is None or second.seconds is None:
        return found
    for index in sorted(set(shown) | set(stored_words)):
        lines = second.verdicts.get(index, [])
        if not lines:
            found.append(f"{second.label} cell {index}: the check printed no verdict with the solutions in")
        elif not all(line.startswith("PASS") for line in lines):
            found.append(
                f"{second.label} cell {index}: with the solutions in (SAGA_LAB_SOLUTIONS=1) the check still says "
                f"{next(x for x in lines if not x.startswith('PASS'))[:160]!r}: fix the solution or the check"
            )
    return found


def attribute(result: Pass, until: float, runs: list[tuple[str, float]], prefix: str, checks: str) -> None:
    """Which cell of the pass started each ``prefix`` run: the last cell that had begun when the server stamped it.

    The pass owns the runs stamped from its start to ``until`` (the next pass's start, or a second after its end).
    """
    starts = sorted((began, index) for index, (began, _) in result.windows.items())
    result.per_cell, result.checks = {}, 0
    for workflow_id, at in runs:
        if not result.began_at <= at < until:
            continue
        short = workflow_id[workflow_id.rfind("/") + 1 :]
        if short.startswith(checks):
            result.checks += 1
        if not short.startswith(prefix):
            continue
        cell = next((index for began, index in reversed(starts) if began <= at), starts[0][1] if starts else -1)
        result.per_cell[cell] = result.per_cell.get(cell, 0) + 1


def compare_workflows(name: str, prefix: str, first: Pass, second: Pass) -> list[str]:
    """Cells that are the same code in both passes (not an exercise, not a check) must start as many runs."""
    changed = {i for i in set(first.sources) | set(second.sources) if first.sources.get(i) != second.sources.get(i)}
    skipped = changed | set(first.verdicts) | set(second.verdicts)
    cells = sorted((set(first.per_cell) | set(second.per_cell)) - skipped)
    differ = [i for i in cells if first.per_cell.get(i, 0) != second.per_cell.get(i, 0)]
    if not differ:
        return []
    said = "; ".join(
        f"cell {i} ({_head(first.sources.get(i, ''))}) {first.per_cell.get(i, 0)} then {second.per_cell.get(i, 0)}"
        for i in differ[:6]
    )
    return [
        f"{name}: pass 2 on the same server did not start as many `{prefix}...` workflows as pass 1 ({said}): a cell "
        f"that reuses an id that already ran shows the old outcome on a rerun; make a fresh id in the cell with "
        f'new_order_id("{prefix}...") (a cell showing the same order twice on purpose derives both from one fresh id)'
    ]


def unnamed(workflow_ids: list[str], who: str) -> list[str]:
    """A problem when a workflow id names no notebook (``nbNN-``) or exercise check (``exNN-``)."""
    other = sorted({wid for wid in workflow_ids if not PREFIXED.match(wid)})
    if not other:
        return []
    return [
        f"{who}: {len(other)} workflow id(s) name no notebook (a notebook's workflows are counted by `nbNN-`, "
        f"an exercise check's by `exNN-`): {', '.join(other[:8])}{' ...' if len(other) > 8 else ''}; "
        'make them with new_order_id("nbNN-...") / checks.fresh_id("exNN")'
    ]


def _made_up(number: int, per_cell: dict[int, int], verdicts: dict[int, list[str]], sources=None) -> Pass:
    sources = sources or {1: "lab = ...", 2: "place()", 3: "answer = None", 4: "check(answer)"}
    return Pass("98_x.ipynb", number, seconds=1.0, per_cell=per_cell, verdicts=verdicts, sources=dict(sources))


def test_the_judges_pass_a_good_pair_and_name_each_defect():
    """The judging functions, both ways, on made-up passes (the synthetic notebook below runs them for real)."""
    stored = {4: ["NOT YET: not three"]}
    first = _made_up(1, {2: 1}, {4: ["NOT YET: not three"]})
    second = _made_up(2, {2: 1}, {4: ["PASS: three"]}, {1: "lab = ...", 2: "place()", 3: "answer = 3", 4: "check"})
    assert judge_verdicts(stored, first, second) == []
    assert compare_workflows("98_x.ipynb", "nb98-", first, second) == []
    # Work the solution starts in its own (changed) cell is not a difference; a fixed id that starts nothing is.
    assert (
        compare_workflows("98_x.ipynb", "nb98-", first, _made_up(2, {2: 1, 3: 2}, second.verdicts, second.sources))
        == []
    )
    fixed = compare_workflows("98_x.ipynb", "nb98-", first, _made_up(2, {}, second.verdicts, second.sources))
    assert len(fixed) == 1 and "cell 2 (place()) 1 then 0" in fixed[0] and "reuses an id" in fixed[0]
    # An exercise stored solved; a solution that does not solve; a check that went silent.
    assert (
        "says PASS before the learner wrote anything"
        in judge_verdicts(stored, _made_up(1, {}, {4: ["PASS: x"]}), None)[0]
    )
    assert (
        "still says 'NOT YET: not three'"
        in judge_verdicts(stored, first, _made_up(2, {}, {4: ["NOT YET: not three"]}))[0]
    )
    assert "printed no verdict" in judge_verdicts(stored, first, _made_up(2, {}, {}))[0]
    assert "its stored output says" in judge_verdicts(stored, _made_up(1, {}, {}), None)[0]
    assert unnamed(["nb98-a-1", "ada/ex98-b", "chaos-1"], "x") and not unnamed(["nb98-a-1", "ada/ex98-b"], "x")


def test_the_solution_is_swapped_in_or_its_absence_named():
    nb = _synthetic()
    swapped, problems = solved(nb)
    assert problems == [] and swapped["metadata"]["kernelspec"]["name"] == SOLUTIONS_KERNEL
    assert [c["source"] for c in swapped["cells"] if "exercise" in _tags(c)] == ["answer = 3"]
    del nb["cells"][4]  # the solution cell
    assert "no markdown cell tagged `solution`" in solved(nb)[1][0]


def test_a_run_is_given_to_the_cell_that_was_running_when_the_server_stamped_it():
    result = Pass("98_x.ipynb", 1, began_at=100.0, windows={1: (100.0, 101.0), 2: (101.0, 103.0), 5: (103.0, 104.0)})
    runs = [("nb98-a", 100.5), ("ada/nb98-b", 102.0), ("nb98-c", 103.5), ("ex98-d", 103.6), ("nb98-e", 200.0)]
    attribute(result, 104.0 + 1, runs, "nb98-", "ex98-")
    assert (result.per_cell, result.checks, result.workflows) == ({1: 1, 2: 1, 5: 1}, 1, 3)


# ---------------------------------------------------------------- two passes, in the browser


async def _screenshot(tab: driver.NotebookTab, name: str, cell_index: int | None) -> Path | None:
    with contextlib.suppress(Exception):  # a screenshot must not hide the failure it illustrates
        return await tab.screenshot(ARTIFACTS / name, cell_index)
    return None


async def _one_pass(tab: driver.NotebookTab, notebook: driver.NotebookFile, result: Pass) -> None:
    """Open ``notebook`` in ``tab`` (the page's first, or in place of the one before), Restart Kernel and Run All,
    and record in ``result`` what it showed."""
    lab = tab.lab
    sanitize = driver.sanitizer(lab.root / "sanitize.cfg")
    shot = f"jupyterlab-{Path(result.notebook).stem}-pass{result.number}.png"
    source = json.loads(notebook.path.read_text(encoding="utf-8"))["cells"]
    result.sources = {i: _text(c.get("source", "")) for i, c in enumerate(source) if c.get("cell_type") == "code"}
    try:
        if tab.page is None:
            await tab.__aenter__()
        else:
            await tab.open(notebook)
        result.started, result.began_at = time.monotonic(), time.time()
        await tab.restart_and_run_all()
        try:
            result.seconds = await tab.wait_for_run(NOTEBOOK_DEADLINE_S)
        except driver.DriverError as err:
            result.problems.append(str(err))
            result.screenshot = await _screenshot(tab, shot, err.cell_index)
            return
        finally:
            result.ended, result.ended_at = time.monotonic(), time.time()
        cells = await tab.cells()
        found = driver.problems(notebook, cells, result.number)
        if dialog := await tab.dialog():
            found.append((None, f"{result.label}: JupyterLab shows a dialog: {dialog}"))
        result.problems += [line.replace(f" run {result.number}:", f" pass {result.number}:", 1) for _, line in found]
        result.verdicts = driver.verdicts(cells, sanitize)
        result.stderr = [(cell.index, out.text) for cell in cells for out in cell.outputs if out.is_stderr]
        result.windows = driver.execution_windows(await tab.save())
        if found:
            result.screenshot = await _screenshot(tab, shot, found[0][0])
    except Exception as err:  # the page or the browser failed: say so for this notebook, let the others go on
        result.ended = result.ended or time.monotonic()
        result.problems.append(f"{result.label}: {type(err).__name__}: {err}")
        if tab.page is not None:
            result.screenshot = await _screenshot(tab, shot, None)
    finally:
        result.blocked, tab.blocked = tab.blocked, []
        with contextlib.suppress(Exception):
            await asyncio.to_thread(lab.shutdown_kernels, notebook.name)


async def runs_on(temporal, prefix: str, quiet_s: float = 2.0, limit_s: float = 20.0) -> list[tuple[str, float]]:
    """(id, start time) of every run on the kept server, once visibility has caught up: no new ``prefix`` run
    for ``quiet_s``."""
    deadline, last, since = time.monotonic() + limit_s, None, time.monotonic()
    while True:
        runs = [(e.id, e.start_time.timestamp()) async for e in temporal.list_workflows()]
        count = sum(1 for wid, _ in runs if wid[wid.rfind("/") + 1 :].startswith(prefix))
        if count != last:
            last, since = count, time.monotonic()
        if time.monotonic() - since >= quiet_s or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(0.5)


async def two_passes(browser, lab: driver.JupyterLab, temporal, name: str, record: list[Pass]) -> list[Pass]:
    """Pass 1 as stored, pass 2 solved, on the same server and home; then the verdicts and the workflows judged."""
    for old in ARTIFACTS.glob(f"jupyterlab-{Path(name).stem}-pass*.png"):  # from an earlier session
        old.unlink()
    stored = lab.notebook(name)
    solved_nb, swap_problems = solved(json.loads(stored.path.read_text(encoding="utf-8")))
    passes: list[Pass] = []
    tab = driver.NotebookTab(browser, lab, stored)  # one page, as a person keeps one JupyterLab open
    try:
        for number, notebook in enumerate((stored, None), start=1):
            if notebook is None:
                if swap_problems or passes[0].seconds is None:
                    break  # nothing to swap in, or pass 1 never ended
                solved_name = name.replace(".ipynb", ".solved.ipynb")
                notebook = await asyncio.to_thread(lab.write_notebook, solved_name, solved_nb)
            result = Pass(name, number)
            passes.append(result)
            record.append(result)
            await _one_pass(tab, notebook, result)
    finally:
        with contextlib.suppress(Exception):
            await tab.__aexit__(None, None, None)
    first, second = passes[0], passes[1] if len(passes) > 1 else None
    first.problems += [f"{name}: {problem}" for problem in swap_problems]
    first.problems += judge_verdicts(stored.stored_verdicts, first, second)
    prefix, checks = f"nb{name[:2]}-", f"ex{name[:2]}-"
    runs = await runs_on(temporal, prefix)
    for position, result in enumerate(passes):
        until = passes[position + 1].began_at if position + 1 < len(passes) else result.ended_at + 1
        attribute(result, until, runs, prefix, checks)
    if second is not None and first.seconds is not None and second.seconds is not None:
        first.problems += compare_workflows(name, prefix, first, second)
    return passes


class Lanes:
    """The selected notebooks, ``LANES`` at a time, each in a page of its own; each notebook's test awaits its own.

    The first lane runs :data:`RESTARTING` first; the second starts each of :data:`BESIDE` as soon as the
    notebook of the same place in :data:`RESTARTING` has started, filling any wait with the shortest notebooks
    left. Then both take the others, longest first.
    """

    def __init__(self, browser, lab: driver.JupyterLab, temporal, names: list[str]) -> None:
        self.browser, self.lab, self.temporal = browser, lab, temporal
        self.queue = longest_first([name for name in names if name not in RESTARTING + BESIDE])
        loop = asyncio.get_running_loop()
        self.results: dict[str, asyncio.Future[list[Pass]]] = {name: loop.create_future() for name in names}
        self.began = {name: asyncio.Event() for name in names}
        self.started = time.monotonic()
        self.record: list[Pass] = []
        restarting = [name for name in RESTARTING if name in names]
        pairs = [(first, second) for first, second in zip(RESTARTING, BESIDE) if second in names]
        if len(names) == 1:
            self.tasks = [asyncio.create_task(self._lane(restarting + [second for _, second in pairs], []))]
        else:
            lanes = [self._lane(restarting, [])] + [self._lane([], pairs if i == 1 else []) for i in range(1, LANES)]
            self.tasks = [asyncio.create_task(lane) for lane in lanes]

    async def _run(self, name: str) -> None:
        self.began[name].set()
        try:
            self.results[name].set_result(await two_passes(self.browser, self.lab, self.temporal, name, self.record))
        except Exception as err:  # a bug in this test, not a notebook's failure
            self.results[name].set_exception(err)

    async def _lane(self, first: list[str], pairs: list[tuple[str, str]]) -> None:
        for name in first:
            await self._run(name)
        for leader, name in pairs:
            if leader in self.began:
                while not self.began[leader].is_set() and self.queue:
                    await self._run(self.queue.pop())  # the shortest left
                await self.began[leader].wait()
            await self._run(name)
        while self.queue:
            await self._run(self.queue.pop(0))

    def beside(self, run: Pass) -> list[str]:
        """The notebooks that were running at some point while ``run`` ran (some may still run)."""
        end = run.ended or math.inf
        return sorted(
            {
                other.notebook
                for other in self.record
                if other.notebook != run.notebook and other.started < end and run.started < (other.ended or math.inf)
            }
        )

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture(scope="module")
async def lanes(request, browser, jupyterlab, temporal):
    module = request.node
    selected = [
        item.callspec.params["notebook"]
        for item in request.session.items
        if item.getparent(pytest.Module) is module and hasattr(item, "callspec") and "notebook" in item.callspec.params
    ]
    running = Lanes(browser, jupyterlab, temporal, selected)
    try:
        yield running
    finally:
        await running.close()
        report = ARTIFACTS / f"{request.module.__name__.rpartition('.')[2]}-report.txt"
        _write_report(running, report, request.config.pluginmanager.getplugin("terminalreporter"))


def _write_report(lanes: Lanes, report: Path, reporter) -> None:
    """``test-artifacts/<test file>-report.txt``: each pass's seconds and workflows, and the stderr a learner saw."""
    done = {name: f.result() for name, f in lanes.results.items() if f.done() and not f.exception()}
    lines = ["per pass (Restart Kernel and Run All Cells, then a settle of a few seconds): seconds, workflows started"]
    for passes in done.values():
        for p in passes:
            took = "did not end" if p.seconds is None else f"{p.seconds:.1f} s"
            lines.append(f"  {p.label}: {took}, {p.workflows} workflow(s) (+{p.checks} by checks)")
    lines += [f"  all, {LANES} notebooks at a time: {time.monotonic() - lanes.started:.0f} s wall clock", ""]
    lines.append("stderr a learner sees (pass, cell, first line of each output):")
    for passes in done.values():
        for p in passes:
            for index, text in p.stderr:
                first = next((line for line in text.splitlines() if line.strip()), "")
                lines.append(f"  {p.label} cell {index}: {first[:200]}")
    lines += ["", "requests beyond 127.0.0.1 the pages made (refused):"]
    lines += [f"  {p.label}: {url}" for passes in done.values() for p in passes for url in p.blocked]
    ARTIFACTS.mkdir(exist_ok=True)
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if reporter is not None and done:
        reporter.write_line("")
        for line in lines[: lines.index("") + 1]:
            reporter.write_line(line)


def _synthetic(order_ids: tuple[str, ...] = ('new_order_id("nb98-order")',)) -> dict:
    """A small notebook: it places orders, has an exercise, its check and a cell meant to raise."""
    import nbformat.v4 as v4

    cells = [
        v4.new_markdown_cell("# 98 · Synthetic"),
        v4.new_code_cell(
            "from saga_lab.checkout import new_order_id, place_order\n"
            "from saga_lab.notebook import Lab, check\n\n"
            'lab = await Lab.start(services=("payment", "order", "shipping", "workflow"))'
        ),
        *(
            v4.new_code_cell(f"result = await place_order(lab.client, {order_id}, 4999)\nresult.status")
            for order_id in order_ids
        ),
        v4.new_code_cell("answer = None  # TODO", metadata={"tags": ["exercise"]}),
        v4.new_markdown_cell(
            "<details><summary>Solution</summary>\n\n```python\nanswer = 3\n```\n</details>",
            metadata={"tags": ["solution"]},
        ),
        v4.new_code_cell('check(answer == 3, "three forward steps", "that is not the number of forward steps")'),
        v4.new_code_cell(
            '# NBVAL_RAISES_EXCEPTION\nraise ValueError("meant")', metadata={"tags": ["raises-exception"]}
        ),
        v4.new_code_cell("print(await lab.stop())"),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return json.loads(json.dumps(nb))


async def test_two_passes_of_a_synthetic_notebook_judge_it_as_the_notebooks_are_judged(jupyterlab, browser, temporal):
    """Unsolved then solved, for real: NOT YET then PASS, one fresh order per pass, and a fixed id caught."""
    nb = _synthetic(('new_order_id("nb98-order")', '"nb98-fixed"'))
    stored_check = next(i for i, c in enumerate(nb["cells"]) if c["source"].startswith("check("))
    nb["cells"][stored_check]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "NOT YET: that is not the number of forward steps\n"}
    ]
    jupyterlab.write_notebook("98_synthetic.ipynb", nb)
    first, second = await two_passes(browser, jupyterlab, temporal, "98_synthetic.ipynb", [])
    print(*first.problems, *second.problems, sep="\n")
    assert [p.seconds is not None for p in (first, second)] == [True, True]
    assert first.verdicts == {stored_check: ["NOT YET: that is not the number of forward steps"]}
    assert second.verdicts == {stored_check: ["PASS: three forward steps"]}
    assert (first.per_cell, second.per_cell) == ({2: 1, 3: 1}, {2: 1}), (first.per_cell, second.per_cell)
    assert second.problems == [] and len(first.problems) == 1, first.problems
    assert "cell 3 (" in first.problems[0] and "1 then 0" in first.problems[0] and "reuses an id" in first.problems[0]


# ---------------------------------------------------------------- every notebook


async def judge_notebook(notebook: str, lanes: Lanes) -> None:
    """Both passes of ``notebook`` clean; a notebook that restarts a server of its own ran beside its partner."""
    passes = await lanes.results[notebook]
    print(
        ", ".join(f"pass {p.number}: " + ("did not end" if p.seconds is None else f"{p.seconds:.1f} s") for p in passes)
    )
    failures = [line for p in passes for line in p.problems]
    if failures:
        failures += [f"pass {p.number} ran beside: {', '.join(lanes.beside(p)) or 'no other notebook'}" for p in passes]
        failures += [f"screenshot: {p.screenshot.relative_to(REPO)}" for p in passes if p.screenshot]
    assert not failures, "\n".join(failures)
    assert [p.number for p in passes] == [1, 2]
    if notebook in RESTARTING and BESIDE[RESTARTING.index(notebook)] in lanes.results:  # it restarts a server ...
        beside, expected = set(lanes.beside(passes[0]) + lanes.beside(passes[1])), BESIDE[RESTARTING.index(notebook)]
        assert expected in beside, f"{notebook} ran beside {sorted(beside)}, not {expected}"  # ... beside this one


async def judge_workflow_ids(lanes: Lanes, temporal) -> None:
    """After every pass: each workflow on the kept server has an id ``nbNN-...`` (a notebook's) or ``exNN-...``."""
    await asyncio.gather(*lanes.results.values(), return_exceptions=True)
    problems = unnamed([e.id async for e in temporal.list_workflows()], "the server the notebooks shared")
    assert not problems, problems[0]


def test_the_two_halves_run_every_notebook_once_and_keep_each_restart_beside_its_partner():
    assert sorted([*NOTEBOOKS, *SECOND_HALF]) == ALL_NOTEBOOKS
    for restarting, beside in zip(RESTARTING, BESIDE):
        assert (restarting in SECOND_HALF) == (beside in SECOND_HALF), (restarting, beside)


@pytest.mark.slow
@pytest.mark.timeout(len(NOTEBOOKS) * 2 * NOTEBOOK_DEADLINE_S)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda name: name.removesuffix(".ipynb"))
async def test_each_notebook_as_stored_then_solved_on_one_kept_server(notebook, lanes, jupyterlab):
    await judge_notebook(notebook, lanes)


@pytest.mark.slow
@pytest.mark.timeout(len(NOTEBOOKS) * 2 * NOTEBOOK_DEADLINE_S)
async def test_every_workflow_id_names_its_notebook(lanes, temporal):
    await judge_workflow_ids(lanes, temporal)
