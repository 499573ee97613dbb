"""Every notebook in JupyterLab, in headless Chromium, run the way a learner runs it.

One JupyterLab for the module, started as ``make lab`` starts it but on a copy of ``notebooks/``
with an embedded Temporal server of its own (``tests/jupyterlab_driver.py``). Each notebook is
opened in a browser tab of its own and run with the menu bar's *Kernel → Restart Kernel and Run
All Cells…*, confirmed with *Restart*, twice in a row. Notebooks run two at a time (``LANES``), in
name order, each in its own tab (two kernels, each with its workers on the one server), so each
runs while another notebook's workers are running; each notebook's test awaits its own result.

After each run (every cell ran, the kernel idle, then a few seconds more for output that arrives
after its cell finished) the test reads every cell's outputs from the page and fails on:

- a cell the run never reached, or one still running at the deadline;
- an error in a cell not tagged ``raises-exception`` (tags come from the ``.ipynb``);
- a ``Traceback`` printed on stderr, in any cell (such output reaches the learner unexplained);
- a check cell whose ``PASS``/``NOT YET`` lines differ between the two runs, or whose verdict
  differs from the notebook's stored output.

On failure a screenshot of the tab, scrolled to the cell, goes to ``test-artifacts/``, and the
message names the notebooks that ran beside it. ``test-artifacts/jupyterlab-report.txt`` lists the
seconds each run took and every stderr output a learner saw. Two small tests first show that the
driver sees what it must (a late traceback, an untagged error, a stuck cell). Without Chromium
the tests fail, saying how to install it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

try:  # tests/ may or may not become a package
    from . import jupyterlab_driver as driver
except ImportError:
    import jupyterlab_driver as driver


REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
REPORT = ARTIFACTS / "jupyterlab-report.txt"
NOTEBOOKS = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))
#: Real seconds one Restart-and-Run-All of one notebook may take (the slowest took 50-95 s, two at a time).
NOTEBOOK_DEADLINE_S = 600
RUNS = 2
#: Notebooks running at once (each its own tab and kernel with workers); the machine has 2 cores.
LANES = 2


@pytest.fixture(scope="module", autouse=True)
def chromium_installed() -> None:
    if not os.access(driver.CHROMIUM, os.X_OK):
        pytest.fail(f"{driver.CHROMIUM} is not installed: `apt-get install -y chromium` (.ci/run installs it in CI)")


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> driver.JupyterLab:
    with driver.running_jupyterlab(REPO, tmp_path_factory.mktemp("jupyterlab")) as lab:
        yield lab


@pytest.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=driver.CHROMIUM, args=driver.CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


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
    assert tab.blocked == ["http://example.invalid/x.png"]  # refused: nothing leaves the machine
    found = driver.problems(notebook, cells, 1)
    assert [index for index, _ in found] == [1, 3, 5, 6], json.dumps(found, indent=1)
    assert "shows a traceback on stderr" in found[0][1] and "now" in found[0][1]
    assert "shows a traceback on stderr" in found[1][1] and "late" in found[1][1]
    assert "raised \"KeyError: 'not meant to'\"" in found[2][1]
    assert "cell 6 (`print('never')`) never ran" in found[3][1]
    assert driver.verdicts(cells, str) == {1: ["PASS: shown"], 4: ["NOT YET: ok"]}


async def test_a_stuck_cell_is_named_at_the_deadline(jupyterlab, browser):
    path = jupyterlab.root / "zz_driver_stuck.ipynb"
    _write(path, ("print('started')", []), ("import time\ntime.sleep(600)", []), ("print('after')", []))
    async with driver.NotebookTab(browser, jupyterlab, jupyterlab.notebook(path.name)) as tab:
        await tab.restart_and_run_all()
        with pytest.raises(driver.DriverError) as stuck:
            await tab.wait_for_run(8)
    assert "zz_driver_stuck.ipynb: the run did not end within 8 s; still running: cell 2 (`import time`)" in str(
        stuck.value
    )
    assert stuck.value.cell_index == 2


# ---------------------------------------------------------------- every notebook


@dataclass
class Run:
    notebook: str
    run: int
    started: float = 0.0
    ended: float = 0.0
    seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    verdicts: dict[int, list[str]] = field(default_factory=dict)
    stderr: list[tuple[int, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshot: Path | None = None


async def _screenshot(tab: driver.NotebookTab, name: str, cell_index: int | None) -> Path | None:
    with contextlib.suppress(Exception):  # a screenshot must not hide the failure it illustrates
        return await tab.screenshot(ARTIFACTS / name, cell_index)
    return None


async def _run_twice(browser, lab: driver.JupyterLab, name: str, record: list[Run]) -> list[Run]:
    """Open ``name`` in a tab of its own and Restart-and-Run-All it ``RUNS`` times; what each run showed.

    Each run is also appended to ``record`` as it starts (so others can tell what ran beside them).
    """
    notebook = lab.notebook(name)
    sanitize = driver.sanitizer(lab.root / "sanitize.cfg")
    stem = notebook.path.stem
    for old in ARTIFACTS.glob(f"jupyterlab-{stem}-run*.png"):  # from an earlier session: not this one's
        old.unlink()
    runs: list[Run] = []
    tab = driver.NotebookTab(browser, lab, notebook)
    try:
        await tab.__aenter__()
        for number in range(1, RUNS + 1):
            run = Run(name, number, started=time.monotonic())
            runs.append(run)
            record.append(run)
            await tab.restart_and_run_all()
            try:
                run.seconds = await tab.wait_for_run(NOTEBOOK_DEADLINE_S)
            except driver.DriverError as err:
                run.problems.append(str(err))
                run.screenshot = await _screenshot(tab, f"jupyterlab-{stem}-run{number}.png", err.cell_index)
                break  # still running: a second run would only wait as long again
            finally:
                run.ended = time.monotonic()
            cells = await tab.cells()
            found = driver.problems(notebook, cells, number)
            if dialog := await tab.dialog():
                found.append((None, f"{name} run {number}: JupyterLab shows a dialog: {dialog}"))
            run.problems += [line for _, line in found]
            run.verdicts = driver.verdicts(cells, sanitize)
            run.stderr = [(cell.index, out.text) for cell in cells for out in cell.outputs if out.is_stderr]
            if found:
                run.screenshot = await _screenshot(tab, f"jupyterlab-{stem}-run{number}.png", found[0][0])
    except Exception as err:  # the page or the browser failed: say so for this notebook, let the others go on
        if not runs:
            runs.append(Run(name, 1, started=time.monotonic()))
            record.append(runs[-1])
        runs[-1].ended = runs[-1].ended or time.monotonic()
        runs[-1].problems.append(f"{name} run {runs[-1].run}: {type(err).__name__}: {err}")
        if tab.page is not None:
            runs[-1].screenshot = await _screenshot(tab, f"jupyterlab-{stem}-run{runs[-1].run}.png", None)
    finally:
        with contextlib.suppress(Exception):
            await tab.__aexit__(None, None, None)
        if runs:  # the tab's, over both runs
            runs[-1].blocked = tab.blocked
    return runs


class Lanes:
    """The selected notebooks, ``LANES`` at a time in name order, each in its own tab; tests await their own.

    While one notebook runs, another notebook's kernel runs with its workers on the same server.
    """

    def __init__(self, browser, lab: driver.JupyterLab, names: list[str]) -> None:
        # In name order, not the longest first: 11 restarts the server every open notebook shares, and
        # 08 (which kills and restarts workers) beside it then sometimes loses a call mid-restart.
        self.browser, self.lab, self.queue = browser, lab, list(names)
        loop = asyncio.get_running_loop()
        self.results: dict[str, asyncio.Future[list[Run]]] = {name: loop.create_future() for name in names}
        self.started = time.monotonic()
        self.record: list[Run] = []
        self.tasks = [asyncio.create_task(self._lane()) for _ in range(min(LANES, len(names)))]

    async def _lane(self) -> None:
        while self.queue:
            name = self.queue.pop(0)
            try:
                self.results[name].set_result(await _run_twice(self.browser, self.lab, name, self.record))
            except Exception as err:  # a bug in this test, not a notebook's failure
                self.results[name].set_exception(err)

    def beside(self, run: Run) -> list[str]:
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
async def lanes(request, browser, jupyterlab):
    module = request.node
    selected = [
        item.callspec.params["notebook"]
        for item in request.session.items
        if item.getparent(pytest.Module) is module and hasattr(item, "callspec") and "notebook" in item.callspec.params
    ]
    running = Lanes(browser, jupyterlab, selected)
    try:
        yield running
    finally:
        await running.close()
        _write_report(running)


def _write_report(lanes: Lanes) -> None:
    """``test-artifacts/jupyterlab-report.txt``: each run's seconds and every stderr output a learner saw."""
    done = {name: f.result() for name, f in lanes.results.items() if f.done() and not f.exception()}
    lines = ["seconds per Restart Kernel and Run All Cells (then a settle of a few seconds):"]
    for name, runs in done.items():
        lines += [
            f"  {name} run {r.run}: " + ("did not end" if r.seconds is None else f"{r.seconds:.1f}") for r in runs
        ]
    lines += [f"  all, {LANES} notebooks at a time: {time.monotonic() - lanes.started:.0f} s wall clock", ""]
    lines.append("stderr a learner sees (run, cell, first line of each output):")
    for name, runs in done.items():
        for run in runs:
            for index, text in run.stderr:
                first = next((line for line in text.splitlines() if line.strip()), "")
                lines.append(f"  {name} run {run.run} cell {index}: {first[:200]}")
    lines += ["", "requests beyond 127.0.0.1 the pages made (refused):"]
    lines += [f"  {name}: {url}" for name, runs in done.items() for run in runs for url in run.blocked]
    ARTIFACTS.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _check_lines(notebook: driver.NotebookFile, runs: list[Run]) -> list[str]:
    """A check cell prints the same in both runs, with the verdict its stored output shows."""
    found: list[str] = []
    done = [run for run in runs if run.seconds is not None]
    for earlier, later in zip(done, done[1:]):
        for index in sorted(set(earlier.verdicts) | set(later.verdicts)):
            before, after = earlier.verdicts.get(index, []), later.verdicts.get(index, [])
            if before != after:
                found.append(
                    f"{notebook.name}: {notebook.cell(index)} printed {before} in run {earlier.run} "
                    f"and {after} in run {later.run}"
                )
    stored = driver.verdict_words(notebook.stored_verdicts)
    for run in done:
        shown = driver.verdict_words(run.verdicts)
        for index in sorted(stored):  # cells stored without output (not run yet) say nothing
            if stored[index] != shown.get(index, []):
                found.append(
                    f"{notebook.name} run {run.run}: {notebook.cell(index)} printed {run.verdicts.get(index, [])}, "
                    f"its stored output says {notebook.stored_verdicts[index]}"
                )
    return found


@pytest.mark.slow
@pytest.mark.timeout(RUNS * NOTEBOOK_DEADLINE_S + 600)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda name: name.removesuffix(".ipynb"))
async def test_restart_and_run_all_twice_beside_another_notebook(notebook, lanes, jupyterlab):
    runs = await lanes.results[notebook]
    print(", ".join(f"run {r.run}: " + ("did not end" if r.seconds is None else f"{r.seconds:.1f} s") for r in runs))

    failures = [line for run in runs for line in run.problems]
    failures += _check_lines(jupyterlab.notebook(notebook), runs)
    if failures:
        failures += [f"run {run.run} ran beside: {', '.join(lanes.beside(run)) or 'no other notebook'}" for run in runs]
        failures += [f"screenshot: {run.screenshot.relative_to(REPO)}" for run in runs if run.screenshot]
    assert not failures, "\n".join(failures)
    assert [run.run for run in runs] == list(range(1, RUNS + 1))
