# Right, another style: ChaCha20-Poly1305, its nonce kept in the metadata, the whole payload inside the ciphertext.
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec


class CardCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self.cipher = ChaCha20Poly1305(key)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            sealed = self.cipher.encrypt(nonce, payload.SerializeToString(), b"card")
            out.append(Payload(metadata={"encoding": b"binary/chacha20", "nonce": nonce}, data=sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") == b"binary/chacha20":
                payload = Payload.FromString(self.cipher.decrypt(payload.metadata["nonce"], payload.data, b"card"))
            out.append(payload)
        return out
