"""The saga's search attributes (``OrderStatus``, ``FailedStep``) on servers a room may meet.

* A server that already has ``OrderStatus`` with **another type** (Text, Int): one clear line, and the
  sagas run without the attributes. With Int, publishing a status would be refused by the server:
  a start error, or a workflow task failing forever on the upsert.
* **A race**: several learners connect to a fresh server at once, each lists, finds the attributes
  missing and adds them. Every one of them ends ready, and says nothing. A cluster (Elasticsearch)
  answers ALREADY_EXISTS to the add that lost; the dev server answers OK: that branch is checked on a
  stand-in operator service, said where.
* A start **refused for its attributes** (they were removed after connect): the saga is started
  again without them, and that is said once, not once per order.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesResponse, RemoveSearchAttributesRequest
from temporalio.service import RPCError, RPCStatusCode

from saga_lab import connection, history, server
from saga_lab.checkout import order_handle, place_order
from saga_lab.models import ORDER_STATUS
from saga_lab.worker import BackgroundWorkers

try:  # tests/ may or may not become a package
    from .helpers import dev_server, saga_lab_command
except ImportError:
    from helpers import dev_server, saga_lab_command

SAGA_LAB = saga_lab_command()


def env_for(address: str, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_"))}
    env.update(TEMPORAL_ADDRESS=address, SAGA_LAB_HOME=str(home), SAGA_LAB_LEARNER="ada")
    return env


def info_for(address: str) -> server.ServerInfo:
    return server.ServerInfo(address, "default", None, False)


@pytest.mark.parametrize("kind", ["Text", "Int"])
def test_an_order_status_of_another_type_is_one_line_and_the_saga_runs(tmp_path, kind):
    with dev_server(tmp_path, "--search-attribute", f"OrderStatus={kind}") as address:
        env = env_for(address, tmp_path / "home")
        placed = subprocess.run(
            [str(SAGA_LAB), "place", "ORD-T", "--amount", "4250", "--fail", "create_shipment=permanent"],
            capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert placed.returncode == 0 and '"COMPENSATED"' in placed.stdout, placed.stderr
        assert placed.stderr.count("\n") == 1, placed.stderr
        assert f"OrderStatus as {kind}" in placed.stderr and "OrderStatus as Keyword" in placed.stderr
        assert "Traceback" not in placed.stderr

        async def evidence():
            client = await connection.reconnect(await connection.connect(info_for(address)), connection.runtime())
            handle = client.get_workflow_handle("ada/ORD-T")
            kinds = {e.kind for e in history.events(await handle.fetch_history())}
            return kinds, (await handle.describe()).typed_search_attributes

        kinds, attributes = asyncio.run(evidence())
    assert "WorkflowTaskFailed" not in kinds and "UpsertWorkflowSearchAttributes" not in kinds, kinds
    assert ORDER_STATUS not in attributes


async def test_learners_who_add_the_attributes_at_once_all_end_ready(tmp_path, capsys):
    with dev_server(tmp_path) as address:
        clients = await asyncio.gather(*(connection.connect(info_for(address)) for _ in range(6)))
        assert [connection.search_attributes_ready(c) for c in clients] == [True] * 6
        listed = await connection._listed(clients[0])
    assert {name: listed[name] for name in ("OrderStatus", "FailedStep")} == {
        "OrderStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "FailedStep": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    }
    assert "search attributes" not in capsys.readouterr().err


class _ClusterThatLostTheRace:
    """A stand-in operator service: isolates the ALREADY_EXISTS answer of a cluster whose list, read just
    before another learner's add, lacked the attributes. The dev server answers such an add with OK."""

    def __init__(self) -> None:
        self.lists = 0

    async def list_search_attributes(self, request, timeout=None):
        self.lists += 1
        keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        added = {"OrderStatus": keyword, "FailedStep": keyword} if self.lists > 1 else {}
        return ListSearchAttributesResponse(custom_attributes=added)

    async def add_search_attributes(self, request, timeout=None):
        raise RPCError("Search attribute OrderStatus already exists.", RPCStatusCode.ALREADY_EXISTS, b"")


async def test_an_add_that_lost_the_race_lists_again_and_accepts_what_is_there(capsys):
    operator = _ClusterThatLostTheRace()
    client = SimpleNamespace(
        namespace="room",
        operator_service=operator,
        service_client=SimpleNamespace(config=SimpleNamespace(target_host="x")),
    )
    assert await connection.ensure_search_attributes(client) is True
    assert operator.lists == 2 and capsys.readouterr().err == ""


async def test_a_start_refused_for_its_attributes_runs_without_them_and_says_so_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SAGA_LAB_LEARNER", "ada")
    with dev_server(tmp_path) as address:
        client = await connection.connect(info_for(address))
        assert connection.search_attributes_ready(client)
        await client.operator_service.remove_search_attributes(  # another learner's instructor tidies up
            RemoveSearchAttributesRequest(namespace="default", search_attributes=["OrderStatus"])
        )
        async with BackgroundWorkers(client, home=tmp_path / "home"):
            first = await place_order(client, "ORD-S1", 4250)
            second = await place_order(client, "ORD-S2", 4250)
        said = [line for line in capsys.readouterr().err.splitlines() if "search attribute" in line]
        described = await order_handle(client, "ORD-S1").describe()
    assert (first.status, second.status) == ("COMPLETED", "COMPLETED")
    assert len(said) == 1 and "refused a start" in said[0] and "OrderStatus" in said[0], said
    assert not connection.search_attributes_ready(client)
    assert ORDER_STATUS not in described.typed_search_attributes
