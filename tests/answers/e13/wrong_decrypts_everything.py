# decode decrypts every payload, also those it never encoded: NOT YET must say "on a payload it did not encode".
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.aes = AESGCM(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for p in payloads:
            nonce = os.urandom(12)
            data = nonce + self.aes.encrypt(nonce, p.SerializeToString(), None)
            encoded.append(Payload(metadata={"encoding": b"binary/encrypted"}, data=data))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload.FromString(self.aes.decrypt(p.data[:12], p.data[12:], None)) for p in payloads]
