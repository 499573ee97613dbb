"""saga_lab.codec: the payload codec, its data converter, and the codec server over real HTTP on 127.0.0.1.

The run through the real dev server (ciphertext in the stored history, the CLI decoding
through the codec server only with its token) is notebook 13's section 4, under nbval.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from saga_lab.codec import ENCODING, KEY_ID, CodecServer, EncryptionCodec, encrypted_converter

ORDER = {"order_id": "ORD-1", "amount": 4999, "card": "4111222233334444"}


def _plain(value=ORDER) -> Payload:
    return DataConverter.default.payload_converter.to_payloads([value])[0]


def _run(coroutine):
    return asyncio.run(coroutine)


def test_encode_hides_the_payload_and_decode_gives_it_back():
    codec = EncryptionCodec(EncryptionCodec.new_key())
    [encoded] = _run(codec.encode([_plain()]))
    assert encoded.metadata["encoding"] == ENCODING and encoded.metadata[KEY_ID] == b"saga-lab"
    assert b"4111222233334444" not in encoded.data and b"ORD-1" not in encoded.data
    assert _run(codec.decode([encoded])) == [_plain()]


def test_the_same_payload_never_encrypts_the_same_way_twice():
    codec = EncryptionCodec(EncryptionCodec.new_key())
    assert _run(codec.encode([_plain()])) != _run(codec.encode([_plain()]))


def test_a_payload_it_did_not_encode_passes_through():
    codec = EncryptionCodec(EncryptionCodec.new_key())
    assert _run(codec.decode([_plain("written without the codec")])) == [_plain("written without the codec")]


def test_another_key_cannot_read_it_and_another_key_id_is_refused():
    key = EncryptionCodec.new_key()
    [encoded] = _run(EncryptionCodec(key).encode([_plain()]))
    with pytest.raises(InvalidTag):  # the ciphertext does not open with another key
        _run(EncryptionCodec(EncryptionCodec.new_key()).decode([encoded]))
    with pytest.raises(ValueError, match="encrypted with key 'saga-lab'; this codec has key 'rotated'"):
        _run(EncryptionCodec(key, key_id="rotated").decode([encoded]))


def test_a_key_of_the_wrong_length_is_refused_in_one_line():
    with pytest.raises(ValueError, match="an AES-256 key is 32 bytes, got 16"):
        EncryptionCodec(b"0" * 16)


def test_the_converter_encodes_failures_too():
    converter = encrypted_converter(EncryptionCodec(EncryptionCodec.new_key()))
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert converter.payload_codec is not None


def _post(url: str, body: bytes, token: str | None = None, method: str = "POST") -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"{}"), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}"), dict(refused.headers)


def _body(payloads: list[Payload]) -> bytes:
    return json_format.MessageToJson(Payloads(payloads=payloads)).encode()


def test_the_codec_server_decodes_only_for_callers_with_its_token():
    codec = EncryptionCodec(EncryptionCodec.new_key())
    encoded = _run(codec.encode([_plain()]))
    with CodecServer(codec, token="s3cret") as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, answer, _ = _post(server.url + "/decode", _body(encoded))
        assert status == 401 and "only for callers that send its token" in answer["message"]
        status, answer, _ = _post(server.url + "/decode", _body(encoded), token="wrong")
        assert status == 401
        status, answer, _ = _post(server.url + "/decode", _body(encoded), token="s3cret")
        assert status == 200
        assert list(json_format.ParseDict(answer, Payloads()).payloads) == [_plain()]
        status, answer, _ = _post(server.url + "/encode", _body([_plain()]), token="s3cret")
        assert status == 200
        [again] = json_format.ParseDict(answer, Payloads()).payloads
        assert again.metadata["encoding"] == ENCODING and _run(codec.decode([again])) == [_plain()]


def test_the_codec_server_says_what_is_wrong_with_a_request():
    with CodecServer(EncryptionCodec(EncryptionCodec.new_key())) as server:
        status, answer, _ = _post(server.url + "/translate", b"{}")
        assert status == 404 and "use /encode or /decode" in answer["message"]
        status, answer, _ = _post(server.url + "/decode", b"not json")
        assert status == 400 and answer["message"].startswith("cannot decode:")
        foreign = _run(EncryptionCodec(EncryptionCodec.new_key(), key_id="other").encode([_plain()]))
        status, answer, _ = _post(server.url + "/decode", _body(foreign))
        assert status == 400 and "encrypted with key 'other'" in answer["message"]


def test_the_codec_server_lets_the_web_ui_call_it_from_a_browser():
    origin = "http://127.0.0.1:8233"
    with CodecServer(EncryptionCodec(EncryptionCodec.new_key()), ui_origin=origin) as server:
        status, _, headers = _post(server.url + "/decode", b"", method="OPTIONS")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "X-Namespace" in headers["Access-Control-Allow-Headers"]
    assert "Authorization" in headers["Access-Control-Allow-Headers"]


def test_a_stopped_codec_server_says_so():
    server = CodecServer(EncryptionCodec(EncryptionCodec.new_key()))
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
