"""The saga's promise, checked for one order against what the three databases say.

A saga never makes every service agree at every moment; it promises how each order
ends. :func:`check_order` says that promise for one order, given how its saga ended and
what the payment, order and shipping databases hold (:class:`OrderFacts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..models import COMPENSATED, COMPLETED, FAILED


@dataclass
class OrderFacts:
    """What the three databases say about one order."""

    charges: int = 0
    charged: int = 0
    refunded: int = 0
    order_status: str | None = None
    order_amount: int | None = None
    shipments: list[str] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.charged - self.refunded

    @property
    def live_shipments(self) -> int:
        return self.shipments.count("CREATED")


def check_order(
    status: str,
    amount: int,
    facts: OrderFacts,
    *,
    compensations: list[str] | None = None,
    failed_compensations: list[str] | None = None,
    workflow_status: str | None = None,
) -> str | None:
    """Why the order breaks the saga's promise, or None when it keeps it.

    * COMPLETED: charged once, net == amount, the order ACTIVE with that amount, one
      shipment and it is CREATED.
    * COMPENSATED: net == 0, the order CANCELLED or never created, no live shipment.
    * FAILED (a compensation failed for good: a person must finish it): the state is
      what the failed compensations explain; every compensation that ran has its effect.
    * In every case: never charged twice, and the workflow ended as the saga says.
    """
    expected_workflow = {COMPLETED: "COMPLETED", COMPENSATED: "COMPLETED", FAILED: "FAILED"}.get(status)
    if expected_workflow is None:
        return f"unexpected end status {status!r}"
    problems = []
    if workflow_status is not None and workflow_status != expected_workflow:
        problems.append(f"the workflow is {workflow_status}, expected {expected_workflow}")
    if facts.charges > 1:
        problems.append(f"charged {facts.charges} times")
    if status == COMPLETED:
        if facts.charges != 1:
            problems.append(f"{facts.charges} charges, expected 1")
        if facts.net != amount:
            problems.append(f"net {facts.net}, expected the amount {amount}")
        if facts.order_status != "ACTIVE" or facts.order_amount != amount:
            problems.append(f"order {facts.order_status} ({facts.order_amount}), expected ACTIVE ({amount})")
        if facts.shipments != ["CREATED"]:
            problems.append(f"shipments {facts.shipments}, expected one CREATED")
    elif status == COMPENSATED:
        if facts.net != 0:
            problems.append(f"net {facts.net}, expected 0")
        if facts.order_status not in (None, "CANCELLED"):
            problems.append(f"order {facts.order_status}, expected CANCELLED or none")
        if facts.live_shipments:
            problems.append(f"shipments {facts.shipments}: one is still live")
    else:
        done, failed = list(compensations or []), list(failed_compensations or [])
        if not failed:
            problems.append("FAILED, but no compensation failed")
        if "refund" in done and facts.net != 0:
            problems.append(f"refunded, yet net {facts.net}")
        if "refund" in failed and facts.refunded != 0:
            problems.append(f"the refund failed, yet {facts.refunded} was refunded")
        if "refund" not in done + failed and facts.charged != 0:
            problems.append(f"charged {facts.charged} with no refund attempted")
        if "cancel_order" in done and facts.order_status != "CANCELLED":
            problems.append(f"order cancelled, yet {facts.order_status}")
        if "cancel_order" in failed and facts.order_status == "CANCELLED":
            problems.append("the order cancellation failed, yet the order is CANCELLED")
        if "cancel_order" not in done + failed and facts.order_status is not None:
            problems.append(f"order {facts.order_status} with no cancellation attempted")
        if "cancel_shipment" not in failed and facts.live_shipments:
            problems.append(f"shipments {facts.shipments}: one is still live")
    return "; ".join(problems) or None


def read_facts(home: Path, prefix: str) -> dict[str, OrderFacts]:
    """The facts of every order whose id starts with ``prefix``, from the databases in ``home``."""
    from ..services import open_services

    services = open_services(home)
    facts: dict[str, OrderFacts] = {}

    def of(order_id: str) -> OrderFacts:
        return facts.setdefault(order_id, OrderFacts())

    for entry in services.payment.ledger():
        if entry.order_id.startswith(prefix):
            if entry.kind == "charge":
                of(entry.order_id).charges += 1
                of(entry.order_id).charged += entry.amount
            else:
                of(entry.order_id).refunded -= entry.amount
    for order in services.orders.all_orders():
        if order.order_id.startswith(prefix):
            of(order.order_id).order_status, of(order.order_id).order_amount = order.status, order.amount
    for shipment in services.shipping.all_shipments():
        if shipment.order_id.startswith(prefix):
            of(shipment.order_id).shipments.append(shipment.status)
    return facts
