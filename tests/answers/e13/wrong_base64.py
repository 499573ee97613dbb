# Base64 is an encoding, not encryption: NOT YET must say the card number "can be read" "after base64-decoding it".
import base64
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.key = key

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/base64"}, data=base64.b64encode(p.SerializeToString()))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(base64.b64decode(p.data)) if p.metadata.get("encoding") == b"binary/base64" else p
            for p in payloads
        ]
