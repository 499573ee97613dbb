"""The browser test of ``tests/test_jupyterlab.py`` for its other half of the notebooks (``SECOND_HALF``).

In a test file of its own so that under ``pytest -n`` (one file per process) the two halves run side by
side, each with its own JupyterLab, kept Temporal server and ``SAGA_LAB_HOME``, judged the same way.
"""

from __future__ import annotations

import pytest

try:  # tests/ may or may not become a package
    from .test_jupyterlab import (
        NOTEBOOK_DEADLINE_S,
        SECOND_HALF,
        browser,
        chromium_installed,
        judge_notebook,
        judge_workflow_ids,
        jupyterlab,
        lanes,
        temporal,
    )
except ImportError:
    from test_jupyterlab import (
        NOTEBOOK_DEADLINE_S,
        SECOND_HALF,
        browser,
        chromium_installed,
        judge_notebook,
        judge_workflow_ids,
        jupyterlab,
        lanes,
        temporal,
    )

#: The fixtures this file takes from test_jupyterlab.py (pytest finds fixtures by name in a test module).
FIXTURES = (browser, chromium_installed, jupyterlab, lanes, temporal)


@pytest.mark.slow
@pytest.mark.timeout(len(SECOND_HALF) * 2 * NOTEBOOK_DEADLINE_S)
@pytest.mark.parametrize("notebook", SECOND_HALF, ids=lambda name: name.removesuffix(".ipynb"))
async def test_each_notebook_as_stored_then_solved_on_one_kept_server(notebook, lanes, jupyterlab):
    await judge_notebook(notebook, lanes)


@pytest.mark.slow
@pytest.mark.timeout(len(SECOND_HALF) * 2 * NOTEBOOK_DEADLINE_S)
async def test_every_workflow_id_names_its_notebook(lanes, temporal):
    await judge_workflow_ids(lanes, temporal)
