# Right, another style: Fernet (AES-CBC + HMAC, a fresh IV each time) from cryptography, its own token format.
import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

MARK = b"binary/fernet"


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.fernet = Fernet(base64.urlsafe_b64encode(key))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata={"encoding": MARK}, data=self.fernet.encrypt(p.SerializeToString())) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(self.fernet.decrypt(p.data)) if p.metadata.get("encoding") == MARK else p
            for p in payloads
        ]
