# Plaintexts kept in the codec's memory, a token sent: NOT YET must say "another CardCodec built with the same key".
import os
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.kept: dict[bytes, Payload] = {}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        tokens = []
        for p in payloads:
            token = os.urandom(16)
            self.kept[token] = p
            tokens.append(Payload(metadata={"encoding": b"binary/token"}, data=token))
        return tokens

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.kept[p.data] if p.metadata.get("encoding") == b"binary/token" else p for p in payloads]
