"""Notebook 13's demo of worker versioning: a changed workflow deployed next to the old one.

Build 1.0 of :class:`PlanV1` plans an order's steps charge-first; build 2.0, :class:`PlanV2`,
order-first: the change that breaks the runs in flight of notebook 10. Both are registered
under one workflow name and **pinned**: a run stays on the build it started on, so the old
build's worker keeps running until its runs have drained, and the new build's code never
replays an old run. No ``workflow.patched`` is needed. Each plan waits a few seconds, as a
saga's hold does, so a run is still open when the new build becomes current.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

with workflow.unsafe.imports_passed_through():
    from saga_lab.connection import current_server, task_queue, temporal_cli
    from saga_lab.server import ServerError

NAME = "ShippingPlan"
HOLD = timedelta(seconds=4)


@workflow.defn(name=NAME, versioning_behavior=VersioningBehavior.PINNED)
class PlanV1:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(HOLD)
        return "charge, create_order, create_shipment"


@workflow.defn(name=NAME, versioning_behavior=VersioningBehavior.PINNED)
class PlanV2:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(HOLD)
        return "create_order, charge, create_shipment"


class Deployment:
    """A worker deployment of its own (fresh name) on a task queue of its own; ``worker(build)`` starts one build."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.name = f"nb13-shop-{uuid.uuid4().hex[:6]}"
        self.task_queue = task_queue(client, self.name)

    def worker(self, build_id: str) -> Worker:
        """A worker of this deployment running ``build_id`` (``1.0``: :class:`PlanV1`, ``2.0``: :class:`PlanV2`)."""
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[PlanV1 if build_id == "1.0" else PlanV2],
            deployment_config=WorkerDeploymentConfig(
                version=WorkerDeploymentVersion(self.name, build_id), use_worker_versioning=True
            ),
            graceful_shutdown_timeout=timedelta(seconds=0),
        )

    async def make_current(self, build_id: str, timeout_s: float = 10.0) -> str:
        """``temporal worker deployment set-current-version`` for ``build_id``, once its worker has polled."""
        command = ["worker", "deployment", "set-current-version"]
        command += ["--deployment-name", self.name, "--build-id", build_id, "--yes"]
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            try:
                said = await asyncio.to_thread(temporal_cli, command, current_server())
                return f"temporal {' '.join(command[:3])} ... --build-id {build_id}: {said.strip()}"
            except ServerError:  # the server does not know the version until its worker has polled
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def pinned(self, run: WorkflowHandle, timeout_s: float = 10.0) -> str:
        """The build ``run`` is pinned to, once its first workflow task has run on it.

        Until then the run belongs to no build: a new build made current in that moment takes it.
        """
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            info = (await run.describe()).raw_description.workflow_execution_info.versioning_info
            if info.deployment_version.build_id:
                return info.deployment_version.build_id
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{run.id} was not picked up by a worker of {self.name} within {timeout_s:g} s")
            await asyncio.sleep(0.1)
