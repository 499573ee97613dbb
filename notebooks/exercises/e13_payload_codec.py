"""Exercise 13 · a payload codec that keeps card numbers out of what Temporal stores.

Everything a workflow is given and returns, and every activity's input and result, is
stored by the Temporal Service as a *payload* and shown by the Web UI and the CLI to anyone
who may read the namespace. ``CardCodec`` sits in the client and the workers: ``encode``
gets each payload before it leaves the process, ``decode`` gets it back on the way in.

What must be true:

- what ``encode`` makes cannot be read without the key (the ``key`` you are given: 32
  random bytes), and ``decode`` gives back exactly the payload ``encode`` got;
- another ``CardCodec`` built with the same key reads what this one made (the worker is a
  process of its own: it has the key, not this codec's memory);
- the same payload encoded twice gives different bytes (equal card numbers must not show
  as equal ciphertexts);
- ``decode`` leaves alone, unchanged, any payload it did not encode: one written by a client
  without the codec, or before you added it.

Edit this file, save it, and rerun the check cell in notebook 13. It runs a card payment
with your codec in its client and worker, then reads the run's history with a client that
has no codec, as the server stores it.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.key = key  # 32 random bytes: the secret that reading a payload must need

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        # TODO: today every payload leaves the process as it came: plain JSON, the card number in it.
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        # TODO: turn back what encode made; leave every other payload as it is.
        return list(payloads)
