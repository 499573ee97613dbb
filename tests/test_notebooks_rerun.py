"""Each notebook run twice against one kept server and one kept ``SAGA_LAB_HOME`` (slow: real kernels).

Pass 1 runs the notebook as it is stored (unsolved: its exercise check must say ``NOT
YET``). Pass 2 runs it again on the same server and data directory, as a learner does the
next day, with the solutions swapped in: ``SAGA_LAB_SOLUTIONS=1`` (checks import
``solutions.eNN_x`` instead of ``exercises.eNN_x``) and every code cell tagged
``exercise`` replaced by the ```python fence of the markdown cell tagged ``solution``
after it; its check must say ``PASS``.

Both passes must start as many workflows (ids ``nbNN-...``, or ``<learner>/nbNN-...``),
cell by cell: the server stamps each run's start, and the cell that was running then
started it. A cell that starts fewer the second time met a fixed id that already ran, so
a learner who reruns it sees the old outcome. (Exercise cells and check cells are not
compared: the solution may start work the unsolved code does not.) Every workflow id must
name its notebook (``nbNN-``) or exercise check (``exNN-``). No cell may raise unless
tagged ``raises-exception``, and no stderr output may hold a ``Traceback`` unless its cell
is tagged ``raises-exception`` or ``expected-traceback``.

Several notebooks run at once (they mostly wait on timers); one that stops or restarts a
server gets a kept server of its own. Per notebook, the workflows each pass started and
its seconds are printed, and listed together at the end of the module.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from saga_lab import server

try:  # tests/ may or may not become a package
    from .helpers import longest_first, notebooks_tool
except ImportError:
    from helpers import longest_first, notebooks_tool

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: Notebooks run side by side: the machine has 2 cores, but the notebooks mostly wait on timers.
PARALLEL = 2
CELL_TIMEOUT_S = 600
#: A test waits this long for its notebook's two passes (queued behind others included).
WAIT_S = 3600
#: A notebook whose code stops or restarts a server gets a server of its own (the others' stays up).
RESTARTS_A_SERVER = re.compile(
    r"restart_server\s*=\s*True|--restart-server|\bserver\.stop\(|[\"']server[\"'],\s*[\"']stop[\"']"
)
TRACEBACK_ALLOWED = {"raises-exception", "expected-traceback"}
PREFIXED = re.compile(r"^(?:[^/]+/)?(?:nb|ex)\d\d-")


tool = notebooks_tool()
PATHS = tool.notebook_paths()


# ---------------------------------------------------------------- the workflows on the kept server


async def _executions(address: str) -> list[tuple[str, float]]:
    from temporalio.client import Client

    client = await Client.connect(address)
    return [(execution.id, execution.start_time.timestamp()) async for execution in client.list_workflows()]


def executions(address: str) -> list[tuple[str, float]]:
    """(id, start time) of every workflow run on the server, read on an event loop of its own."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_executions(address))
    finally:
        loop.close()


def named(runs: list[tuple[str, float]], prefix: str) -> list[tuple[str, float]]:
    """The runs whose id is ``prefix...`` or ``<learner>/prefix...``."""
    return [(wid, at) for wid, at in runs if wid[wid.rfind("/") + 1 :].startswith(prefix)]


def settled(address: str, prefix: str, quiet_s: float = 2.0, limit_s: float = 20.0) -> list[tuple[str, float]]:
    """The server's runs once visibility has caught up: no new ``prefix`` run seen for ``quiet_s``."""
    deadline, last, since = time.monotonic() + limit_s, None, time.monotonic()
    while True:
        runs = executions(address)
        count = len(named(runs, prefix))
        if count != last:
            last, since = count, time.monotonic()
        if time.monotonic() - since >= quiet_s or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


# ---------------------------------------------------------------- one notebook, twice


@dataclass
class Pass:
    seconds: float = 0.0
    began: float = 0.0
    ended: float = 0.0
    workflows: int = 0
    checks: int = 0
    #: cell index -> nbNN- workflows started while it ran
    per_cell: dict[int, int] = field(default_factory=dict)
    verdicts: dict[int, list[str]] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Outcome:
    name: str
    first: Pass = field(default_factory=Pass)
    second: Pass | None = None
    problems: list[str] = field(default_factory=list)

    def numbers(self) -> str:
        second = self.second
        line = (
            f"{self.name}: pass 1 started {self.first.workflows} workflow(s) (+{self.first.checks} by checks) "
            f"in {self.first.seconds:.0f} s"
        )
        if second is not None:
            line += f"; pass 2 {second.workflows} (+{second.checks}) in {second.seconds:.0f} s"
        return line


def _src(cell: dict) -> str:
    return tool.text_of(cell.get("source", ""))


def solved(nb: dict) -> tuple[dict, list[str]]:
    """``nb`` with each code cell tagged ``exercise`` replaced by the ```python fence of its ``solution`` cell."""
    nb = copy.deepcopy(nb)
    problems = []
    cells = nb["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or "exercise" not in tool.cell_tags(cell):
            continue
        following = next((c for c in cells[index + 1 :] if {"exercise", "solution"} & set(tool.cell_tags(c))), None)
        fence = None
        if following is not None and "solution" in tool.cell_tags(following):
            fence = re.search(r"```python\n(.*?)\n?```", _src(following), re.S)
        if fence is None:
            problems.append(
                f"cell {index} is tagged `exercise` but no markdown cell tagged `solution` with a ```python fence "
                "follows it: the solved pass cannot swap the solution in"
            )
            continue
        cell["source"] = fence.group(1)
    return nb, problems


def _review(run, label: str, solved_pass: bool) -> tuple[dict[int, list[str]], list[str]]:
    """The verdicts a pass printed and what is wrong with its outputs."""
    problems, verdicts = [], {}
    if run.error:
        problems.append(
            f"{label}: {run.error}: fix the cell; if the error is the lesson, start it with "
            "`# NBVAL_RAISES_EXCEPTION` and tag it `raises-exception`"
        )
    for index, cell in enumerate(run.nb.cells):
        if cell.get("cell_type") != "code":
            continue
        where = f"{label} cell {index} ({tool._first_line(cell)})"
        tags = set(tool.cell_tags(cell))
        for output in cell.get("outputs", []):
            if (
                output.get("output_type") == "stream"
                and output.get("name") == "stderr"
                and "Traceback" in tool.text_of(output.get("text", ""))
                and not tags & TRACEBACK_ALLOWED
            ):
                problems.append(
                    f"{where}: printed a Traceback on stderr: a learner must not meet an unexplained traceback "
                    "(use Lab's one-line logs); if it is the point, say so in the text and tag the cell "
                    "`expected-traceback`"
                )
                break
        lines = tool.verdicts(cell)
        if not lines:
            continue
        verdicts[index] = lines
        if not solved_pass and any(line.startswith("PASS:") for line in lines):
            problems.append(
                f"{where}: the exercise check says PASS before the learner wrote anything ({lines[0][:120]}): the "
                "practice code must leave the check saying NOT YET"
            )
        if solved_pass and not all(line.startswith("PASS:") for line in lines):
            problems.append(
                f"{where}: with the solutions swapped in (SAGA_LAB_SOLUTIONS=1) the check still says "
                f"{next(x for x in lines if not x.startswith('PASS:'))[:160]!r}: fix the solution or the check"
            )
    return verdicts, problems


def cleared(nb: dict) -> dict:
    """``nb`` without stored outputs: what a pass reviews is what it printed."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _attribute(result: Pass, until: float, windows: dict[int, tuple[float, float]], runs: list) -> None:
    """Which cell of the pass started each run: the last cell that had begun when the server stamped its start.

    The pass owns the runs stamped from its start to ``until`` (the next pass's start, or a second after its end).
    """
    starts = sorted((began, index) for index, (began, _) in windows.items())
    for _, at in runs:
        if not result.began <= at < until:
            continue
        cell = next((index for began, index in reversed(starts) if began <= at), starts[0][1] if starts else -1)
        result.per_cell[cell] = result.per_cell.get(cell, 0) + 1
    result.workflows = sum(result.per_cell.values())


def _compare(name: str, prefix: str, first: Pass, second: Pass) -> list[str]:
    """Cells that are the same code in both passes (not an exercise, not a check) must start as many runs."""
    changed = {i for i in set(first.sources) | set(second.sources) if first.sources.get(i) != second.sources.get(i)}
    skipped = changed | set(first.verdicts) | set(second.verdicts)
    cells = sorted((set(first.per_cell) | set(second.per_cell)) - skipped)
    differ = [i for i in cells if first.per_cell.get(i, 0) != second.per_cell.get(i, 0)]
    if not differ:
        return []
    said = "; ".join(
        f"cell {i} ({tool._first_line({'source': first.sources.get(i, '')})}) "
        f"{first.per_cell.get(i, 0)} then {second.per_cell.get(i, 0)}"
        for i in differ[:6]
    )
    return [
        f"{name}: pass 2 on the same server did not start as many `{prefix}...` workflows as pass 1 ({said}): a cell "
        f"that reuses an id that already ran shows the old outcome on a rerun; make a fresh id in the cell with "
        f'new_order_id("{prefix}...") (a cell showing the same order twice on purpose derives both from one fresh id)'
    ]


def rerun(nb: dict, name: str, number: str, env: dict[str, str], address: str, cwd: Path = NOTEBOOKS) -> Outcome:
    """Run ``nb`` unsolved, then solved, on the server at ``address``; count the ``nbNN-`` workflows each started."""
    nb = cleared(nb)
    outcome = Outcome(name)
    prefix, checks_prefix = f"nb{number}-", f"ex{number}-"
    solution, problems = solved(nb)
    outcome.problems += [f"{name}: {p}" for p in problems]
    passes = [
        ("pass 1 (as stored)", nb, env, False),
        ("pass 2 (solved)", solution, {**env, "SAGA_LAB_SOLUTIONS": "1"}, True),
    ]
    windows = []
    for label, notebook, pass_env, solved_pass in passes:
        result = Pass(began=time.time())
        run = tool.execute(tool.nbformat.from_dict(notebook), pass_env, cwd=cwd, timeout=CELL_TIMEOUT_S)
        result.ended, result.seconds, result.error = time.time(), run.seconds, run.error
        result.sources = {i: _src(c) for i, c in enumerate(run.nb.cells) if c.get("cell_type") == "code"}
        result.verdicts, found = _review(run, f"{name} {label}", solved_pass)
        outcome.problems += found
        windows.append(run.windows)
        if solved_pass:
            outcome.second = result
        else:
            outcome.first = result
        if run.error:
            break
    runs = settled(address, prefix)
    done = [outcome.first] + ([outcome.second] if outcome.second else [])
    for position, (result, cell_windows) in enumerate(zip(done, windows)):
        until = done[position + 1].began if position + 1 < len(done) else result.ended + 1
        _attribute(result, until, cell_windows, named(runs, prefix))
        result.checks = sum(1 for _, at in named(runs, checks_prefix) if result.began <= at < until)
    first, second = outcome.first, outcome.second
    if second is not None and not first.error and not second.error:
        outcome.problems += _compare(name, prefix, first, second)
        unchecked = sorted(set(first.verdicts) - set(second.verdicts))
        if unchecked:
            outcome.problems.append(f"{name}: the check cell(s) {unchecked} printed no verdict in the solved pass")
    return outcome


def unnamed(runs: list[tuple[str, float]], who: str) -> list[str]:
    """A problem when a workflow id names no notebook (``nbNN-``) or exercise check (``exNN-``)."""
    other = sorted({wid for wid, _ in runs if not PREFIXED.match(wid)})
    if not other:
        return []
    return [
        f"{who}: {len(other)} workflow id(s) name no notebook (the rerun test counts a notebook's workflows by "
        f"`nbNN-`, an exercise check's by `exNN-`): {', '.join(other[:8])}{' ...' if len(other) > 8 else ''}; "
        'make them with new_order_id("nbNN-...") / checks.fresh_id("exNN")'
    ]


def restarts_a_server(nb: dict) -> bool:
    return any(cell.get("cell_type") == "code" and RESTARTS_A_SERVER.search(_src(cell)) for cell in nb["cells"])


# ---------------------------------------------------------------- the kept server, and the runs in the background


@dataclass
class Lab:
    settings: server.ServerSettings
    address: str
    env: dict[str, str]


@contextlib.contextmanager
def kept(home: Path):
    """An embedded server on free loopback ports with its data in ``home``, and the env of kernels that use it."""
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    env = tool.kernel_env(
        {"SAGA_LAB_HOME": str(home), "SAGA_LAB_PORT": str(settings.port), "SAGA_LAB_UI_PORT": str(settings.ui_port)}
    )
    try:
        yield Lab(settings, info.address, env)
    finally:
        server.stop(settings)


@pytest.fixture(scope="module")
def kept_server(tmp_path_factory) -> Lab:
    """One embedded server and one ``SAGA_LAB_HOME`` for every pass of every notebook of this module."""
    with kept(tmp_path_factory.mktemp("rerun-home")) as lab:
        yield lab


class Runs:
    """The selected notebooks' two passes, run in the background, ``PARALLEL`` at a time.

    A notebook that stops or restarts a server gets a kept server and home of its own for its two
    passes, so the others' runs beside it never see their server go away.
    """

    def __init__(self, paths: list[Path], lab: Lab, homes: Path) -> None:
        self.lab, self.homes = lab, homes
        self.futures: dict[str, Future] = {path.stem: Future() for path in paths}
        self.own_server = {path.stem for path in paths if restarts_a_server(json.loads(path.read_text()))}
        # The long ones first (those with a server of their own are long too: chaos, durability).
        self.paths = sorted(longest_first(paths), key=lambda p: p.stem not in self.own_server)
        self.thread = threading.Thread(target=self._conduct, name="notebook-reruns", daemon=True)
        self.thread.start()

    def _one(self, path: Path) -> Outcome:
        nb = tool.nbformat.read(path, as_version=4)
        if path.stem in self.own_server:
            with kept(self.homes / path.stem) as lab:
                outcome = rerun(nb, path.name, path.name[:2], lab.env, lab.address)
                outcome.problems += unnamed(executions(lab.address), f"{path.name} (on a server of its own)")
                return outcome
        return rerun(nb, path.name, path.name[:2], self.lab.env, self.lab.address)

    def _conduct(self) -> None:
        with ThreadPoolExecutor(PARALLEL, thread_name_prefix="notebook") as pool:
            running = {pool.submit(self._one, path): path for path in self.paths}
            for future in as_completed(running):
                target = self.futures[running[future].stem]
                try:
                    target.set_result(future.result())
                except BaseException as exc:  # the harness itself broke: the notebook's test says how
                    target.set_exception(exc)

    def outcomes(self) -> list[Outcome]:
        done = [self.futures[p.stem] for p in sorted(self.paths)]
        return [f.result() for f in done if f.done() and not f.exception()]


def _selected(request) -> list[Path]:
    chosen = {
        item.callspec.params["path"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_notebook_reruns" and hasattr(item, "callspec")
    }
    return [path for path in PATHS if path in chosen]


@pytest.fixture(scope="module")
def runs(request, kept_server: Lab, tmp_path_factory) -> Runs:
    began = time.monotonic()
    runs = Runs(_selected(request), kept_server, tmp_path_factory.mktemp("own-servers"))
    yield runs
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    outcomes = runs.outcomes()
    if reporter is not None and outcomes:
        reporter.write_line("")
        reporter.write_line("notebook reruns on a kept server (workflows nbNN- started, +exNN- by checks):")
        for outcome in outcomes:
            alone = " (a server of its own)" if outcome.name[:-6] in runs.own_server else ""
            reporter.write_line(f"  {outcome.numbers()}{alone}")
        total = sum(o.first.seconds + (o.second.seconds if o.second else 0) for o in outcomes)
        reporter.write_line(
            f"  kernel time {total:.0f} s, {PARALLEL} at a time: {time.monotonic() - began:.0f} s in all"
        )


# ---------------------------------------------------------------- the harness, proven on a synthetic notebook


def synthetic(
    *,
    order_id: str = 'new_order_id("nb98-order")',
    exercise: str = "answer = None  # TODO",
    solution: str = "answer = 3",
    extra: list[dict] | None = None,
) -> dict:
    """A small notebook: it places one order, has an exercise, its check and a cell meant to raise."""
    import nbformat.v4 as v4

    cells = [
        v4.new_markdown_cell("# 98 · Synthetic"),
        v4.new_code_cell(
            "from saga_lab.checkout import new_order_id, place_order\n"
            "from saga_lab.notebook import Lab, check\n\n"
            'lab = await Lab.start(services=("payment", "order", "shipping", "workflow"))'
        ),
        v4.new_code_cell(f"result = await place_order(lab.client, {order_id}, 4999)\nresult.status"),
        v4.new_code_cell(exercise, metadata={"tags": ["exercise"]}),
        v4.new_markdown_cell(
            f"<details><summary>Solution</summary>\n\n```python\n{solution}\n```\n</details>",
            metadata={"tags": ["solution"]},
        ),
        v4.new_code_cell('check(answer == 3, "three forward steps", "that is not the number of forward steps")'),
        v4.new_code_cell(
            '# NBVAL_RAISES_EXCEPTION\nraise ValueError("meant")', metadata={"tags": ["raises-exception"]}
        ),
        *(extra or []),
        v4.new_code_cell("print(await lab.stop())"),
    ]
    return json.loads(json.dumps(v4.new_notebook(cells=cells)))


def _rerun(kept_server: Lab, nb: dict) -> Outcome:
    outcome = rerun(nb, "98_synthetic.ipynb", "98", kept_server.env, kept_server.address)
    print(outcome.numbers(), *outcome.problems, sep="\n  ")
    return outcome


def test_a_good_notebook_reruns_clean(kept_server: Lab) -> None:
    outcome = _rerun(kept_server, synthetic())
    assert outcome.problems == []
    assert outcome.first.workflows == outcome.second.workflows == 1
    assert [v[0][:8] for v in outcome.first.verdicts.values()] == ["NOT YET:"]
    assert [v[0][:5] for v in outcome.second.verdicts.values()] == ["PASS:"]


def test_a_fixed_id_starts_nothing_the_second_time(kept_server: Lab) -> None:
    outcome = _rerun(kept_server, synthetic(order_id='"nb98-fixed"'))
    assert (outcome.first.workflows, outcome.second.workflows) == (1, 0)
    assert any("reuses an id" in p for p in outcome.problems), outcome.problems


def test_workflows_the_solution_starts_are_not_a_difference(kept_server: Lab) -> None:
    solution = 'answer = 3\nawait place_order(lab.client, new_order_id("nb98-solved"), 4999)'
    outcome = _rerun(kept_server, synthetic(solution=solution))
    assert outcome.problems == []
    assert (outcome.first.workflows, outcome.second.workflows) == (1, 2)
    assert outcome.second.per_cell == {2: 1, 3: 1}


def test_an_exercise_stored_solved_is_caught(kept_server: Lab) -> None:
    outcome = _rerun(kept_server, synthetic(exercise="answer = 3"))
    assert any("says PASS before the learner wrote anything" in p for p in outcome.problems), outcome.problems


def test_a_solution_that_does_not_solve_is_caught(kept_server: Lab) -> None:
    outcome = _rerun(kept_server, synthetic(solution="answer = 2"))
    assert any("still says 'NOT YET:" in p for p in outcome.problems), outcome.problems


def test_an_unexpected_error_and_a_traceback_are_caught(kept_server: Lab) -> None:
    import nbformat.v4 as v4

    printed = v4.new_code_cell(
        "import traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    traceback.print_exc()"
    )
    outcome = _rerun(kept_server, synthetic(extra=[printed]))
    assert any("printed a Traceback on stderr" in p for p in outcome.problems), outcome.problems
    printed["metadata"] = {"tags": ["expected-traceback"]}
    raising = v4.new_code_cell('raise RuntimeError("not meant")')
    outcome = _rerun(kept_server, synthetic(extra=[printed, raising]))
    assert len(outcome.problems) == 1 and "RuntimeError: not meant" in outcome.problems[0], outcome.problems
    assert outcome.second is None, "pass 2 runs only after a clean pass 1"


# ---------------------------------------------------------------- the notebooks


@pytest.mark.timeout(WAIT_S)
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_reruns(runs: Runs, path: Path) -> None:
    outcome: Outcome = runs.futures[path.stem].result(timeout=WAIT_S)
    print(outcome.numbers())
    if outcome.problems:
        pytest.fail(outcome.numbers() + "\n  " + "\n  ".join(outcome.problems), pytrace=False)


@pytest.mark.timeout(WAIT_S)
def test_every_workflow_id_names_its_notebook(runs: Runs, kept_server: Lab) -> None:
    """After every pass: each workflow on the kept server has an id ``nbNN-...`` (a notebook's) or ``exNN-...``."""
    for future in runs.futures.values():
        future.exception(timeout=WAIT_S)
    problems = unnamed(executions(kept_server.address), "the server the notebooks shared")
    if problems:
        pytest.fail(problems[0], pytrace=False)
