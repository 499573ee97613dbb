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

import base64
import binascii
import dataclasses
import os
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter

from saga_lab.connection import workflow_id

from . import support

MODULE = "e13_payload_codec"
CARD = "4111222233334444"
RUN_TIMEOUT_S = 10.0
PASSED = (
    "the card payment ran with your codec, and the server holds only ciphertext: the card number is in none of "
    "the run's payloads, another key cannot read them back, and the same payload never encrypts the same way twice."
)


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


def _payload(value: object) -> Payload:
    return DataConverter.default.payload_converter.to_payloads([value])[0]


async def problem_with_codec(module: ModuleType) -> str | None:
    """The first thing wrong with ``module.CardCodec`` on its own (None: nothing found)."""
    key = os.urandom(32)
    codec, twin, other = module.CardCodec(key), module.CardCodec(key), module.CardCodec(os.urandom(32))
    plain = _payload(CardPayment("ex13", CARD, 4999))
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
        back = await twin.decode(encoded)
    except Exception as err:
        back = [f"{type(err).__name__}: {err}"]
    if list(back) != [plain]:
        return (
            "another CardCodec built with the same key could not read it back: a worker in another process has "
            "only the key, not this codec's memory"
        )
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
    foreign = _payload("written by a client without the codec")
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


async def problem_in_a_run(client: Client, module: ModuleType) -> str | None:
    """Run the card payment with the codec, then read its history as the server stores it."""
    key = os.urandom(32)

    def with_codec() -> Client:  # the client and the worker each build their own codec, as two processes would
        converter = dataclasses.replace(DataConverter.default, payload_codec=module.CardCodec(key))
        return Client(**{**client.config(), "data_converter": converter})

    secret, worker_client = with_codec(), with_codec()
    order_id = support.fresh_id("ex13")
    queue = support.queue_name(client, order_id)
    async with support.kernel_worker(
        worker_client, queue, workflows=[CardPaymentWorkflow], activities=[authorize_card]
    ):
        handle = await secret.start_workflow(
            CardPaymentWorkflow.run,
            CardPayment(order_id, CARD, 4999),
            id=workflow_id(client, order_id),
            task_queue=queue,
        )
        try:
            facts = await support.finish(handle, RUN_TIMEOUT_S, "the card payment")
        except support.NotYet as failed:
            hint = "the worker decodes with your codec: did decode give back its input?"
            raise support.NotYet(f"{failed} ({hint})") from None
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_TIMEOUT_S, "the card payment")
    if facts.status != "COMPLETED" or await handle.result() != f"authorized 4999 on card {CARD}":
        return f"the card payment ended {facts.status}: decode did not give back what encode got"
    stored = await client.get_workflow_handle(handle.id).fetch_history()  # no codec: as the server stores it
    places = {
        "workflow_execution_started_event_attributes": ("input", "the workflow's input"),
        "activity_task_scheduled_event_attributes": ("input", "the activity's input"),
        "activity_task_completed_event_attributes": ("result", "the activity's result"),
        "workflow_execution_completed_event_attributes": ("result", "the workflow's result"),
    }
    for event in stored.events:
        for field, (name, said) in places.items():
            if event.HasField(field):
                for payload in getattr(getattr(event, field), name).payloads:
                    how = readable(payload)
                    if how is not None:
                        return f"{said}, as the server stores it, shows the card number {how}"
    return None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Judge ``CardCodec`` alone, then in a real run; print PASS or NOT YET (``module``: instead of the file)."""

    async def body() -> str | None:
        codec_module = support.load(MODULE, "CardCodec", module=module)
        return await problem_with_codec(codec_module) or await problem_in_a_run(client, codec_module)

    return await support.judge("e13", PASSED, body, client)
