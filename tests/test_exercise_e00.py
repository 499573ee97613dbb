"""Exercise 00's check (notebooks/checks/e00_hello.py) against the real dev server.

Unsolved (the exercise cell as stored), it says what is missing; every answer in
``tests/answers/e00`` (the exercise cell as a learner wrote it) gets its verdict. After the
notebook's clean-up, the exercise cell says so in one line instead of waiting forever, and
a check whose server is gone says so in one line.
"""

from __future__ import annotations

import importlib
import socket

import pytest
from answers.cases import Answer, cases
from temporalio.client import Client

from checks import e00_hello, support
from saga_lab import connection, server
from saga_lab.checkout import new_order_id
from saga_lab.notebook import Lab


async def test_the_exercise_as_stored_is_told_what_is_missing(session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    assert await e00_hello.check(client, ..., new_order_id("ex00-me"), ..., ...) is False
    assert capsys.readouterr().out == "NOT YET: my_name is Ellipsis: put your name in it, as a string\n"


@pytest.mark.parametrize("answer", cases("e00"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    lab = await Lab.start(services=("workflow",))
    try:
        my_workflow_id = new_order_id("ex00-me")
        cell = await importlib.import_module(answer.module).cell(lab, my_workflow_id)
        capsys.readouterr()
        await e00_hello.check(lab.client, cell["my_name"], my_workflow_id, cell["my_greeting"], cell["found"])
    finally:
        await lab.stop()
    assert answer.judge(capsys.readouterr().out) == []


async def test_the_exercise_cell_after_the_clean_up_says_so_in_one_line(session_server: server.ServerInfo):
    lab = await Lab.start(services=("workflow",))
    support.lab_is_up(lab)  # running: nothing to say
    await lab.stop()
    with pytest.raises(support.LabStopped) as stopped:
        support.lab_is_up(lab)
    assert stopped.value._render_traceback_() == [
        "LabStopped: the lab's workers were stopped by the Clean up cell: run the notebook's first code cell "
        "again (`lab = await Lab.start()`), then this cell"
    ]


async def test_a_check_whose_server_is_gone_says_so_in_one_line(capsys):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    gone = await Client.connect(f"127.0.0.1:{port}", lazy=True)
    assert await e00_hello.check(gone, "Ada", "ex00-me-000000", "Hello, Ada!", "") is False
    assert capsys.readouterr().out == (
        f"NOT YET: the Temporal server at 127.0.0.1:{port} does not answer: the lab was stopped: "
        "run the notebook's first code cell again (`lab = await Lab.start()`), then this cell\n"
    )
