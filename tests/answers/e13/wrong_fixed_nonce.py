# AES-GCM with one fixed nonce: NOT YET must say "the same payload encoded twice gives the same bytes".
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

NONCE = b"\x00" * 12


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.aes = AESGCM(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        sealed = [self.aes.encrypt(NONCE, p.SerializeToString(), None) for p in payloads]
        return [Payload(metadata={"encoding": b"binary/encrypted"}, data=data) for data in sealed]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(self.aes.decrypt(NONCE, p.data, None))
            if p.metadata.get("encoding") == b"binary/encrypted"
            else p
            for p in payloads
        ]
