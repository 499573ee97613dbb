"""Payload encryption: a codec that encrypts what Temporal stores, and a codec server that decodes it.

A workflow's input and result, each activity's input and result, a signal's or an update's
arguments: Temporal stores them all as *payloads*, by default plain JSON, and the Web UI and
the ``temporal`` CLI show them to anyone who may read the namespace. For payment data that
matters. :class:`EncryptionCodec` encrypts every payload with AES-256-GCM in the client and
the workers, before it leaves the process, so the Temporal Service only ever holds
ciphertext. :func:`encrypted_converter` puts it in a data converter, with the failures'
messages and stack traces encrypted too.

People still need to read a run. :class:`CodecServer` decodes for them over HTTP, the way
the Web UI (its codec server setting, or ``temporal server start-dev --ui-codec-endpoint``)
and the CLI (``--codec-endpoint``, ``--codec-auth``) ask: ``POST /decode`` and ``/encode``
with a JSON body ``{"payloads": [...]}``. It listens on 127.0.0.1 only and, given a token,
answers only the callers that send it, so the key stays with the codec and the reading
stays with the people allowed to.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

#: The ``encoding`` of a payload this codec encrypted: how ``decode`` (and a person) tells it apart.
ENCODING = b"binary/encrypted"
#: Which key encrypted a payload, so that keys can be rotated: a codec refuses another key's payloads.
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
HOST = "127.0.0.1"


class EncryptionCodec(PayloadCodec):
    """Encrypts each payload whole (data and metadata) with AES-256-GCM and a fresh random nonce."""

    def __init__(self, key: bytes, key_id: str = "saga-lab") -> None:
        if len(key) != 32:
            raise ValueError(f"an AES-256 key is 32 bytes, got {len(key)}: make one with EncryptionCodec.new_key()")
        self._aes = AESGCM(key)
        self.key_id = key_id

    @staticmethod
    def new_key() -> bytes:
        """32 random bytes. Keep them in a secret store: whoever has them can read every payload."""
        return AESGCM.generate_key(bit_length=256)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                data=self._encrypt(payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # not ours (a client without the codec wrote it): as it is
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            if key_id != self.key_id:
                raise ValueError(f"a payload encrypted with key {key_id!r}; this codec has key {self.key_id!r}")
            decoded.append(Payload.FromString(self._decrypt(payload.data)))
        return decoded

    def _encrypt(self, data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)  # never twice with one key: AES-GCM's one rule
        return nonce + self._aes.encrypt(nonce, data, None)

    def _decrypt(self, data: bytes) -> bytes:
        return self._aes.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)


def encrypted_converter(codec: PayloadCodec) -> DataConverter:
    """The default data converter with ``codec``, and failures' messages and stack traces encoded too."""
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


class CodecServer:
    """``codec`` behind HTTP on 127.0.0.1: ``POST <url>/decode`` and ``<url>/encode``, as the Web UI and CLI call them.

    ``token``: only requests with ``Authorization: Bearer <token>`` are answered (401 otherwise).
    ``ui_origin``: the Web UI's address, allowed to call from a browser (CORS).
    ``with CodecServer(codec, token=...) as server:`` starts it on a free port and stops it after.
    """

    def __init__(self, codec: PayloadCodec, *, token: str | None = None, ui_origin: str | None = None) -> None:
        self.codec = codec
        self.token = token
        self.ui_origin = ui_origin
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the codec server is not running: start() it first")
        return f"http://{HOST}:{self._http.server_address[1]}"

    def start(self) -> CodecServer:
        if self._http is None:
            self._http = ThreadingHTTPServer((HOST, 0), _handler(self))
            self._thread = threading.Thread(target=self._http.serve_forever, name="codec-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> CodecServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def answer(self, path: str, authorization: str | None, body: bytes) -> tuple[int, dict]:
        """The HTTP status and JSON body for one request (the handler only moves bytes)."""
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"message": "this codec server decodes only for callers that send its token"}
        action = path.rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            return 404, {"message": f"no such endpoint {path!r}: use /encode or /decode"}
        try:
            payloads = json_format.Parse(body or b"{}", Payloads()).payloads
            coded = asyncio.run(getattr(self.codec, action)(payloads))
        except Exception as err:  # a body that is not payloads, a payload another key encrypted
            return 400, {"message": f"cannot {action}: {err}"}
        return 200, json.loads(json_format.MessageToJson(Payloads(payloads=coded)))


def _handler(server: CodecServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # a browser's preflight before a cross-origin POST
            self._reply(200, {})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = server.answer(self.path, self.headers.get("Authorization"), body)
            self._reply(status, answer)

        def _reply(self, status: int, answer: dict) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if server.ui_origin:
                self.send_header("Access-Control-Allow-Origin", server.ui_origin)
                self.send_header("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
                self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
                self.send_header("Access-Control-Allow-Credentials", "true")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise here
            pass

    return Handler
