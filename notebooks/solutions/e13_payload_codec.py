"""Exercise 13 · a payload codec that keeps card numbers out of what Temporal stores (solution).

Each payload is serialized whole (its metadata too) and encrypted with AES-256-GCM under a
fresh random nonce; the result is marked ``binary/encrypted`` so that ``decode`` knows which
payloads are its own. ``saga_lab/codec.py`` is the same codec with a key id for rotation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCRYPTED = b"binary/encrypted"


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.aes = AESGCM(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for payload in payloads:
            nonce = os.urandom(12)  # fresh for every payload: never twice with one key
            secret = nonce + self.aes.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(Payload(metadata={"encoding": ENCRYPTED}, data=secret))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCRYPTED:
                decoded.append(payload)  # not ours: as it is
                continue
            plain = self.aes.decrypt(payload.data[:12], payload.data[12:], None)
            decoded.append(Payload.FromString(plain))
        return decoded
