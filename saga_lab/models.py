"""The data that travels: activity inputs, the saga's input and result, and the end statuses.

Every payload is a dataclass with one job, passed as the single argument of an
activity or workflow (Temporal's advice: one argument, so fields can be added
later without breaking running workflows). They are recorded in the event
history, so the Web UI shows exactly what each step was asked to do.
"""

from dataclasses import dataclass, field

from temporalio.common import SearchAttributeKey

from .faults import Fault, FaultPlan

# ---------------------------------------------------------------- end statuses of a saga
# The saga's *result* status (``OrderResult.status``), not Temporal's run status: a run fails
# only when a person must act. The README's "How a saga ends" table has every case.

#: Every step done: charged, order active, shipped. The run COMPLETED.
COMPLETED = "COMPLETED"
#: A step failed, or the saga was stopped (the customer, the deadline, a workflow cancel), and
#: every undo ran: nothing is left. The run COMPLETED (CANCELED after a workflow cancel).
COMPENSATED = "COMPENSATED"
#: An undo failed for good, whatever stopped the saga: the run FAILED and a person must act.
FAILED = "FAILED"
#: The order's ``OrderStatus`` search attribute while the saga runs, and after a workflow cancel.
RUNNING = "RUNNING"
CANCELLED = "CANCELLED"
END_STATUSES = (COMPLETED, COMPENSATED, FAILED)

#: Custom search attributes a saga keeps current, so sagas can be listed by status in the
#: Web UI and the CLI. Registered on connect where the server allows it (saga_lab.connection).
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
FAILED_STEP = SearchAttributeKey.for_keyword("FailedStep")
#: Their names and types, as ``temporal server start-dev --search-attribute`` takes them.
SEARCH_ATTRIBUTES = {ORDER_STATUS.name: "Keyword", FAILED_STEP.name: "Keyword"}

# ---------------------------------------------------------------- activity inputs


@dataclass
class ChargeInput:
    order_id: str
    amount: int
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class RefundInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CreateOrderInput:
    order_id: str
    amount: int
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CancelOrderInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CreateShipmentInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CancelShipmentInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


# ---------------------------------------------------------------- the saga


@dataclass
class OrderInput:
    order_id: str
    amount: int
    faults: FaultPlan = field(default_factory=FaultPlan)
    #: Hold the order this long before shipping (a cooling-off period); cancellable.
    hold_seconds: float = 0.0
    parallel_compensation: bool = False
    #: A business deadline: past it, the saga stops and compensates (0 = none). Unlike a
    #: workflow run timeout, which ends the run on the spot and skips compensation.
    deadline_seconds: float = 0.0
    #: Keep the ``OrderStatus`` and ``FailedStep`` search attributes current. The starter
    #: sets it when the server has them (a plain server or a cloud namespace may not).
    publish_search_attributes: bool = False


@dataclass
class OrderResult:
    order_id: str
    status: str
    payment_id: str | None = None
    shipment_id: str | None = None
    compensations: list[str] = field(default_factory=list)
    error: str | None = None
    failed_step: str | None = None
    #: Compensations that failed for good (status FAILED): what a person must finish.
    failed_compensations: list[str] = field(default_factory=list)


@dataclass
class Progress:
    order_id: str
    current_step: str | None
    steps_done: list[str]
    compensations_done: list[str]
    compensating: bool
    cancel_requested: str | None
    #: How the saga ended, once it has (None while it runs): the record of a CANCELED run too.
    outcome: OrderResult | None = None
