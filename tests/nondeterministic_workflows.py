"""Two changed versions of ``OrderSagaWorkflow``, for the replay tests and notebook 09.

The change: create the order *before* charging (the other order of steps that notebook
05 weighs). Both keep the workflow's name, ``OrderSagaWorkflow``, as a new deployment
of the same workflow would, so they meet the histories that the current code recorded:

* :class:`OrderFirstWorkflow` just swaps the steps. Replaying a recorded run fails with
  a ``NondeterminismError``: the history says the first activity scheduled was
  ``charge``, the new code asks for ``create_order``. A worker with this code would
  get stuck on every saga in flight.
* :class:`OrderFirstPatchedWorkflow` guards the change with ``workflow.patched``: a run
  that started before the change (no patch marker in its history) keeps charging
  first; a new run records the marker and creates the order first. Both replay.

They live in a module file, not in a notebook cell, because the workflow sandbox
re-imports a workflow's module from its file.
"""

from __future__ import annotations

from temporalio import workflow

from saga_lab.workflows import OrderInput, OrderResult, OrderSagaWorkflow

#: The patch id: it is recorded in the history of every run that took the new branch.
ORDER_FIRST_PATCH = "create-order-before-charge"


class _CreatesTheOrderFirst(OrderSagaWorkflow):
    """``OrderSagaWorkflow`` with its first two steps swapped; nothing else differs."""

    _order_first = True

    async def _forward_steps(self, result: OrderResult) -> None:
        if not self._order_first:
            return await super()._forward_steps(result)
        await self._create_order()
        result.payment_id = await self._charge()
        await self._hold()
        result.shipment_id = await self._create_shipment()


@workflow.defn(name="OrderSagaWorkflow")
class OrderFirstWorkflow(_CreatesTheOrderFirst):
    """NON-DETERMINISTIC for every run recorded before the change: it schedules another first activity."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        return await super().run(input)


@workflow.defn(name="OrderSagaWorkflow")
class OrderFirstPatchedWorkflow(_CreatesTheOrderFirst):
    """The same change behind ``workflow.patched``: old runs keep the old order, new runs take the new one."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        self._order_first = workflow.patched(ORDER_FIRST_PATCH)
        return await super().run(input)
