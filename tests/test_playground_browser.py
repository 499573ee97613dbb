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


def _playground_notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# The playground"), nbformat.v4.new_code_cell(SETUP_CELL)]
    nbformat.write(notebook, path)


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
        assert await _end(widget) == {"status": "COMPENSATED", "run-status": "COMPLETED", "consistent": "yes"}
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
        assert await _end(widget) == {"status": "FAILED", "run-status": "FAILED", "consistent": "NO"}
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
