"""The saga playground in JupyterLab, in headless Chromium, used the way a learner uses it.

JupyterLab runs on a copy of ``notebooks/`` with an embedded Temporal server of its own
(``tests/jupyterlab_driver.py``). A notebook whose one cell starts the lab and shows
``Playground(lab, "bt-play")`` is opened and run (Kernel → Restart Kernel and Run All Cells…).
Then, through the widget's real controls: ``create_shipment`` is set to ``permanent`` in its
dropdown and Run is clicked; the sequence appears, grows, and is replaced by PlantUML's
diagram, and the end state says COMPENSATED (run COMPLETED, the three databases agree).
Then ``refund`` is set to ``permanent`` as well: the end state says FAILED (run FAILED, they
do not agree). Last, ``charge=timeout:2``: while the charge is retried, the live view says which
attempt it is on. A screenshot of the widget after each run (and one mid-run) goes to
``test-artifacts/``, and
``test-artifacts/playground-browser.txt`` says how long each took to show, from the click.

A second notebook proves that a fault picked while another cell runs reaches the run, and that a
pick made after it does too. ipykernel 7.4.0 handles the first without the "idle" ipywidgets
waits for, so, unless the playground sends that idle itself, the dropdown stops sending and Run
runs a fault the learner has taken away (this test fails when ``_keep_talking`` does nothing).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

try:  # tests/ may or may not become a package
    from . import jupyterlab_driver as driver
except ImportError:
    import jupyterlab_driver as driver

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
#: Seconds from a click on Run to the end state and PlantUML's diagram (a run takes 1-3 s here).
RUN_S = 90
SETUP_CELL = """\
from saga_lab.notebook import Lab
from saga_lab.playground import Playground

lab = await Lab.start()
pg = Playground(lab, "bt-play")
pg"""


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    if driver.CHROMIUM is None:
        pytest.fail("no Chromium: `python tests/preflight.py` says how to install it (.ci/run installs it in CI)")
    with driver.running_jupyterlab(REPO, tmp_path_factory.mktemp("playground-lab")) as lab:
        yield lab


@pytest.fixture(scope="module")
async def browser():
    async with driver.launched_chromium() as chromium:
        yield chromium


def _playground_notebook(path: Path, *more_cells: str, prefix: str = "bt-play") -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# The playground"),
        nbformat.v4.new_code_cell(SETUP_CELL.replace('"bt-play"', f'"{prefix}"')),
        *(nbformat.v4.new_code_cell(source) for source in more_cells),
    ]
    nbformat.write(notebook, path)


async def _listed(widget) -> str:
    """The runs table as the learner reads it (what each run was given and how it ended)."""
    return await widget.locator(".saga-runs tbody").inner_text()


async def _run_and_watch(page, widget) -> dict[str, float]:
    """Click Run; seconds from the click until the first drawing, the end state, PlantUML's diagram."""
    runs_before = await widget.locator(".saga-runs tbody tr").count()
    clicked = time.monotonic()
    await widget.locator("button.saga-playground-run").click()
    seconds = {}
    await widget.locator(".saga-playground-view .saga-diagram[data-drawn-by='live'] svg").wait_for(timeout=RUN_S * 1000)
    seconds["first drawing"] = time.monotonic() - clicked
    await widget.locator(".saga-playground-state .saga-end").wait_for(timeout=RUN_S * 1000)
    seconds["end state"] = time.monotonic() - clicked
    rows = widget.locator(".saga-runs tbody tr")
    deadline = time.monotonic() + RUN_S
    while await rows.count() == runs_before:  # the run is listed once PlantUML's diagram is in
        assert time.monotonic() < deadline, f"the run was not listed within {RUN_S} s"
        await page.wait_for_timeout(100)
    seconds["diagram"] = time.monotonic() - clicked
    return seconds


async def _end(widget) -> dict[str, str]:
    end = widget.locator(".saga-playground-state .saga-end")
    return {key: await end.get_attribute(f"data-{key}") for key in ("status", "run-status", "consistent")}


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_faults_picked_in_the_browser_run_a_real_saga_and_show_its_end(jupyterlab, browser):
    path = jupyterlab.root / "zz_playground.ipynb"
    _playground_notebook(path)
    notebook = jupyterlab.notebook(path.name)
    timings = []
    ARTIFACTS.mkdir(exist_ok=True)
    async with driver.NotebookTab(browser, jupyterlab, notebook) as tab:
        await tab.restart_and_run_all()
        await tab.wait_for_run(300)
        assert driver.problems(notebook, await tab.cells(), 1) == []
        page = tab.page
        await page.set_viewport_size({"width": 1400, "height": 1700})  # room for the whole widget in a screenshot
        widget = page.locator(".saga-playground")
        await widget.wait_for(timeout=driver.OPEN_S * 1000)
        assert "crash is not offered here" in await widget.inner_text()

        # A shipment refused: the saga undoes the order and the charge.
        await widget.locator(".saga-playground-fault-create_shipment select").select_option("permanent")
        timings.append(("create_shipment=permanent", await _run_and_watch(page, widget)))
        assert await _end(widget) == {"status": "COMPENSATED", "run-status": "COMPLETED", "consistent": "yes"}, (
            await _listed(widget)
        )
        diagram = widget.locator(".saga-playground-view .saga-diagram[data-drawn-by='plantuml'] svg")
        assert await diagram.count() == 1
        drawn = await diagram.text_content()
        assert "compensation" in drawn and "cancel_order" in drawn and "refund" in drawn
        state = await widget.locator(".saga-playground-state").inner_text()
        assert "REFUNDED" in state and "CANCELLED" in state
        await widget.screenshot(path=str(ARTIFACTS / "playground-compensated.png"))

        # And the refund refused for good: it needs a person.
        await widget.locator(".saga-playground-fault-refund select").select_option("permanent")
        timings.append(("create_shipment=permanent, refund=permanent", await _run_and_watch(page, widget)))
        assert await _end(widget) == {"status": "FAILED", "run-status": "FAILED", "consistent": "NO"}, await _listed(
            widget
        )
        state = await widget.locator(".saga-playground-state").inner_text()
        assert "needs a person" in state and "CHARGED" in state
        drawn = await widget.locator(".saga-playground-view .saga-diagram[data-drawn-by='plantuml'] svg").text_content()
        assert "refund" in drawn and "needs a person" in drawn
        listed = await widget.locator(".saga-runs tbody").inner_text()
        assert "COMPENSATED" in listed and "FAILED" in listed and listed.count("bt-play-") == 2
        await widget.screenshot(path=str(ARTIFACTS / "playground-failed.png"))

        # No fault but a charge that loses its reply twice: the live view shows the attempt it is on.
        for step in ("create_shipment", "refund"):
            await widget.locator(f".saga-playground-fault-{step} select").select_option("none")
        await widget.locator(".saga-playground-fault-charge select").select_option("timeout")
        count = widget.locator(".saga-playground-n-charge input")
        await count.fill("2")
        await count.press("Enter")
        await widget.locator("button.saga-playground-run").click()
        live = widget.locator(".saga-playground-view .saga-diagram[data-drawn-by='live']", has_text="attempt 2")
        await live.wait_for(timeout=RUN_S * 1000)
        assert "attempt 1 failed" in await live.text_content()
        await widget.screenshot(path=str(ARTIFACTS / "playground-live.png"))
        await widget.locator(".saga-playground-state .saga-end").wait_for(timeout=RUN_S * 1000)
        assert await _end(widget) == {"status": "COMPLETED", "run-status": "COMPLETED", "consistent": "yes"}
        assert tab.blocked == []  # nothing the widget shows reaches beyond this machine

    report = ARTIFACTS / "playground-browser.txt"
    report.write_text(
        "".join(
            f"{faults}: " + ", ".join(f"{what} {s:.2f} s" for what, s in seconds.items()) + " after the click\n"
            for faults, seconds in timings
        ),
        encoding="utf-8",
    )
    print(report.read_text(encoding="utf-8"))


BUSY_CELL = "import asyncio\n\nawait asyncio.sleep(4)  # another cell, running while the learner picks a fault"


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_fault_picked_while_another_cell_runs_reaches_the_run_and_so_does_the_next_pick(jupyterlab, browser):
    path = jupyterlab.root / "zz_playground_busy.ipynb"
    _playground_notebook(path, BUSY_CELL, prefix="bt-busy")
    notebook = jupyterlab.notebook(path.name)
    async with driver.NotebookTab(browser, jupyterlab, notebook) as tab:
        await tab.restart_and_run_all()
        await tab.wait_for_run(300)
        assert driver.problems(notebook, await tab.cells(), 1) == []
        page = tab.page
        widget = page.locator(".saga-playground")
        await widget.wait_for(timeout=driver.OPEN_S * 1000)
        rows = widget.locator(".saga-runs tbody tr")

        async def run() -> tuple[str, dict[str, str]]:
            """Click Run; what the new row says the run was given, and how it ended."""
            before = await rows.count()
            await widget.locator("button.saga-playground-run").click()
            deadline = time.monotonic() + RUN_S
            while await rows.count() == before:
                assert time.monotonic() < deadline, f"the run was not listed within {RUN_S} s"
                await page.wait_for_timeout(100)
            return await rows.nth(before).locator("td").nth(2).inner_text(), await _end(widget)

        await widget.locator(".saga-playground-fault-create_shipment select").select_option("permanent")
        busy = page.locator(".jp-CodeCell").nth(1)
        await busy.locator(".jp-InputArea-editor").click()
        await page.keyboard.press("Control+Enter")  # runs the sleeping cell, and stays on it
        await busy.locator(".jp-InputPrompt", has_text="[*]").wait_for(timeout=driver.OPEN_S * 1000)
        await widget.locator(".saga-playground-fault-refund select").select_option("permanent")
        await tab.wait_for_run(60)

        given, end = await run()
        assert given == "create_shipment=permanent, refund=permanent", await _listed(widget)
        assert end["status"] == "FAILED"
        await widget.locator(".saga-playground-fault-refund select").select_option("none")
        given, end = await run()
        assert given == "create_shipment=permanent", await _listed(widget)
        assert end["status"] == "COMPENSATED"
