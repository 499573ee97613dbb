# A key written into the code instead of the one given: NOT YET must say "another key read the card number back".
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

KEY = b"saga-lab-demo-key-32-bytes-long!"


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.aes = AESGCM(KEY)  # the key it was given is never used

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for p in payloads:
            nonce = os.urandom(12)
            data = nonce + self.aes.encrypt(nonce, p.SerializeToString(), None)
            encoded.append(Payload(metadata={"encoding": b"binary/encrypted"}, data=data))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(self.aes.decrypt(p.data[:12], p.data[12:], None))
            if p.metadata.get("encoding") == b"binary/encrypted"
            else p
            for p in payloads
        ]
