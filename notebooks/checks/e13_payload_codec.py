"""Exercise 13's check: does your codec keep the card number out of what Temporal stores?

It builds your ``CardCodec`` (``exercises/e13_payload_codec.py``) with a random key, then:

1. encodes a payload that holds a card number, and looks for the number in what ``encode``
   made (as it is, and base64-decoded): the server would store exactly that;
2. decodes it again (it must come back as it was), and with a codec built with *another*
   key (it must not);
3. encodes the same payload twice (the two must differ), and decodes a plain payload it
   did not encode (it must come back unchanged);
4. runs a card payment, a workflow and its activity, with your codec in the client and the
   worker, and reads the run's history with a client that has no codec: the card number
   must be in none of its payloads, and the workflow must have read its input.

The check's own workflow runs outside the sandbox (``sandboxed=False``): it lives in this
module, which the sandbox would import afresh with the notebook's helpers on every run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from saga_lab.checkout import terminate_if_running
from saga_lab.connection import learner_prefix, workflow_id

from . import check as verdict
from . import fresh_id, practice

MODULE = "e13_payload_codec"
CARD = "4111222233334444"
RUN_TIMEOUT_S = 10.0


@dataclass
class CardPayment:
    order_id: str
    card_number: str
    amount: int


@activity.defn(name="authorize_card")
async def authorize_card(payment: CardPayment) -> str:
    return f"authorized {payment.amount} on card {payment.card_number}"


@workflow.defn(name="CardPaymentWorkflow", sandboxed=False)
class CardPaymentWorkflow:
    @workflow.run
    async def run(self, payment: CardPayment) -> str:
        return await workflow.execute_activity(authorize_card, payment, start_to_close_timeout=timedelta(seconds=5))


def readable(payload: Payload) -> str | None:
    """How the card number can be read from ``payload`` without a key (None: it cannot)."""
    card = CARD.encode()
    if card in payload.data or any(card in value for value in payload.metadata.values()):
        return "as it is"
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            if card in decode(payload.data + b"==="):
                return "after base64-decoding it, which needs no key"
        except (binascii.Error, ValueError):
            pass
    return None


def _card_payload() -> Payload:
    return DataConverter.default.payload_converter.to_payloads([CardPayment("ex13", CARD, 4999)])[0]


async def problem_with_codec(module: ModuleType) -> str | None:
    """The first thing wrong with ``module.CardCodec`` on its own (None: nothing found)."""
    key = os.urandom(32)
    codec, other = module.CardCodec(key), module.CardCodec(os.urandom(32))
    plain = _card_payload()
    try:
        encoded = await codec.encode([plain])
    except Exception as err:
        return f"encode raised {type(err).__name__}: {err}"
    if len(encoded) != 1:
        return f"encode made {len(encoded)} payloads of 1: it must make one for each"
    how = readable(encoded[0])
    if how is not None:
        return f"the card number can be read in what encode made, {how}: anyone who reads the history reads it"
    try:
        back = await codec.decode(encoded)
    except Exception as err:
        return f"decode raised {type(err).__name__} on what encode made: {err}"
    if list(back) != [plain]:
        return "decode did not give back the payload encode got: the workflow could not read its input"
    try:
        stolen = await other.decode(encoded)
    except Exception:
        stolen = None
    if stolen is not None and list(stolen) == [plain]:
        return "a codec built with another key read the card number back: your codec does not use its key"
    if await codec.encode([plain]) == encoded:
        return (
            "the same payload encoded twice gives the same bytes: equal card numbers show as equal ciphertexts "
            "(a cipher like AES-GCM needs a fresh random nonce for every payload)"
        )
    foreign = DataConverter.default.payload_converter.to_payloads(["written by a client without the codec"])[0]
    try:
        kept = await codec.decode([foreign])
    except Exception as err:
        return (
            f"decode raised {type(err).__name__} on a payload it did not encode (a client without the codec wrote "
            f"it): {err}; leave such payloads as they are"
        )
    if list(kept) != [foreign]:
        return "decode changed a payload it did not encode (a client without the codec wrote it); leave it as it is"
    return None


async def _run_payment(client: Client, module: ModuleType) -> tuple[str | None, int]:
    """Run the card payment with the codec; (what went wrong, how many payloads the stored history holds)."""
    codec = module.CardCodec(os.urandom(32))
    converter = dataclasses.replace(DataConverter.default, payload_codec=codec)
    secret = Client(**{**client.config(), "data_converter": converter})
    queue = f"{learner_prefix(client)}ex13-card-{uuid.uuid4().hex[:6]}"
    order_id = fresh_id("ex13")
    async with Worker(secret, task_queue=queue, workflows=[CardPaymentWorkflow], activities=[authorize_card]):
        payment = CardPayment(order_id, CARD, 4999)
        handle = await secret.start_workflow(
            CardPaymentWorkflow.run, payment, id=workflow_id(client, order_id), task_queue=queue
        )
        try:
            result = await asyncio.wait_for(handle.result(), RUN_TIMEOUT_S)
        except TimeoutError:
            result = None
            await terminate_if_running(handle, "exercise 13's check: the card payment did not end")
    stored = await client.get_workflow_handle(handle.id).fetch_history()  # no codec: as the server stores it
    if result is None:
        failed = [e for e in stored.events if e.HasField("workflow_task_failed_event_attributes")]
        why = failed[-1].workflow_task_failed_event_attributes.failure.message if failed else "no failure was recorded"
        return f"the workflow could not read its input within {RUN_TIMEOUT_S:g} s (its worker said: {why[:160]})", 0
    if result != f"authorized 4999 on card {CARD}":
        return f"the workflow's result came back as {result!r}: decode did not give back what encode got", 0
    places = {
        "workflow_execution_started_event_attributes": ("input", "the workflow's input"),
        "activity_task_scheduled_event_attributes": ("input", "the activity's input"),
        "activity_task_completed_event_attributes": ("result", "the activity's result"),
        "workflow_execution_completed_event_attributes": ("result", "the workflow's result"),
    }
    count = 0
    for event in stored.events:
        for field, (name, said) in places.items():
            if event.HasField(field):
                for payload in getattr(getattr(event, field), name).payloads:
                    count += 1
                    how = readable(payload)
                    if how is not None:
                        return f"{said}, as the server stores it, shows the card number {how}", count
    return None, count


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Judge ``CardCodec`` alone, then in a real run; print PASS or NOT YET (``module``: instead of the file)."""
    try:
        module = module or practice(MODULE)
    except Exception as err:  # the learner's file does not import: one line, no traceback
        return verdict(False, "", f"exercises/{MODULE}.py does not import: {type(err).__name__}: {err}")
    problem = await problem_with_codec(module)
    count = 0
    if problem is None:
        problem, count = await _run_payment(client, module)
    return verdict(
        problem is None,
        f"the card payment ran with your codec, and the server holds only ciphertext: the card number is in "
        f"none of the run's {count} payloads, another key cannot read them back, and the same payload never "
        "encrypts the same way twice.",
        problem or "",
    )
