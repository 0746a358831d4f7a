"""Metadata both ways (ASCII and -bin) and status codes with non-ASCII messages."""

from __future__ import annotations

import grpc
import pytest

import interop_support as sup

echo_pb2, _ = sup.echo_modules()

TIMEOUT = 20.0
ALL_BYTES = bytes(range(256))
UNICODE_MESSAGE = "précondition ✗ 失败"


def _md(call_md):
    return {k: v for k, v in (call_md or ())}


def _keys(call_md):
    return [k for k, _ in (call_md or ())]


REQUEST_MD = (
    ("x-echo-initial", "hello"),
    ("x-echo-initial-extra", "second value"),
    ("x-echo-initial-bin", b"\x00\x01\xfe\xff"),
    ("x-echo-trailing-bin", ALL_BYTES),
    ("x-echo-trailing-text", "bye"),
    ("x-not-echoed", "stays here"),
)


def _check_echoed(initial, trailing):
    ini, tra = _md(initial), _md(trailing)
    assert ini.get("x-echo-initial") == "hello"
    assert ini.get("x-echo-initial-extra") == "second value"
    assert ini.get("x-echo-initial-bin") == b"\x00\x01\xfe\xff"
    assert tra.get("x-echo-trailing-bin") == ALL_BYTES
    assert tra.get("x-echo-trailing-text") == "bye"
    # Each key goes back only where the rule says, and others are not echoed.
    assert not any(k.startswith("x-echo-trailing") for k in _keys(initial))
    assert not any(k.startswith("x-echo-initial") for k in _keys(trailing))
    assert "x-not-echoed" not in ini and "x-not-echoed" not in tra


def test_metadata_unary(stub):
    resp, call = stub.UnaryEcho.with_call(echo_pb2.EchoRequest(payload=b"m"),
                                          metadata=REQUEST_MD, timeout=TIMEOUT)
    assert resp.payload == b"m"
    _check_echoed(call.initial_metadata(), call.trailing_metadata())


def test_metadata_contract_minimal(stub):
    """Exactly what the Swift client's `metadata` case sends."""
    _, call = stub.UnaryEcho.with_call(
        echo_pb2.EchoRequest(payload=b"x"),
        metadata=(("x-echo-initial", "hello"), ("x-echo-trailing-bin", ALL_BYTES)),
        timeout=TIMEOUT)
    assert _md(call.initial_metadata()).get("x-echo-initial") == "hello"
    assert _md(call.trailing_metadata()).get("x-echo-trailing-bin") == ALL_BYTES


def test_metadata_bidi(stub):
    call = stub.BidiEcho(iter([echo_pb2.EchoRequest(payload=b"a"),
                               echo_pb2.EchoRequest(payload=b"b")]),
                         metadata=REQUEST_MD, timeout=TIMEOUT)
    # initial metadata is available before the first message is read
    initial = call.initial_metadata()
    assert [r.payload for r in call] == [b"a", b"b"]
    _check_echoed(initial, call.trailing_metadata())


def test_metadata_client_stream(stub):
    resp, call = stub.ClientStreamEcho.with_call(
        iter([echo_pb2.EchoRequest(payload=b"abc")] * 3), metadata=REQUEST_MD, timeout=TIMEOUT)
    assert resp.received_bytes == 9
    _check_echoed(call.initial_metadata(), call.trailing_metadata())


def test_metadata_many_and_large_values(stub):
    md = [(f"x-echo-trailing-{i:02d}", "v" * 100 + str(i)) for i in range(20)]
    md.append(("x-echo-initial-big-bin", bytes(range(256)) * 8))  # 2 KiB binary
    _, call = stub.UnaryEcho.with_call(echo_pb2.EchoRequest(), metadata=md, timeout=TIMEOUT)
    tra = _md(call.trailing_metadata())
    for i in range(20):
        assert tra[f"x-echo-trailing-{i:02d}"] == "v" * 100 + str(i)
    assert _md(call.initial_metadata())["x-echo-initial-big-bin"] == bytes(range(256)) * 8


def test_trailing_metadata_on_error(stub):
    req = echo_pb2.EchoRequest(respond_with_status=echo_pb2.EchoStatus(code=5, message="nope"))
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(req, metadata=(("x-echo-trailing-bin", ALL_BYTES),), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    assert ei.value.details() == "nope"
    assert _md(ei.value.trailing_metadata()).get("x-echo-trailing-bin") == ALL_BYTES


_CODES = {c.value[0]: c for c in grpc.StatusCode}


@pytest.mark.parametrize("code", list(range(1, 17)))
def test_status_code_with_unicode_message(stub, code):
    message = f"{UNICODE_MESSAGE} #{code}"
    req = echo_pb2.EchoRequest(respond_with_status=echo_pb2.EchoStatus(code=code,
                                                                         message=message))
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(req, timeout=TIMEOUT)
    assert ei.value.code() == _CODES[code]
    assert ei.value.details() == message


def test_status_message_needing_percent_encoding(stub):
    message = "100% done\n\ttab, \"quotes\", emoji 🙂, nul-free, ~!@#$^&*()"
    req = echo_pb2.EchoRequest(respond_with_status=echo_pb2.EchoStatus(code=9, message=message))
    with pytest.raises(grpc.RpcError) as ei:
        stub.UnaryEcho(req, timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert ei.value.details() == message


def test_status_after_streamed_responses(stub):
    """BidiEcho answers two requests, then the third asks for an error: the client
    sees both responses, then the status in the trailers."""
    reqs = [echo_pb2.EchoRequest(payload=b"one"), echo_pb2.EchoRequest(payload=b"two"),
            echo_pb2.EchoRequest(respond_with_status=echo_pb2.EchoStatus(
                code=10, message=UNICODE_MESSAGE))]
    call = stub.BidiEcho(iter(reqs), timeout=TIMEOUT)
    got = []
    with pytest.raises(grpc.RpcError) as ei:
        for r in call:
            got.append(r.payload)
    assert got == [b"one", b"two"]
    assert ei.value.code() == grpc.StatusCode.ABORTED
    assert ei.value.details() == UNICODE_MESSAGE


def test_status_server_streaming(stub):
    req = echo_pb2.EchoRequest(response_count=3, respond_with_status=echo_pb2.EchoStatus(
        code=7, message=UNICODE_MESSAGE))
    with pytest.raises(grpc.RpcError) as ei:
        list(stub.ServerStreamEcho(req, timeout=TIMEOUT))
    assert ei.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert ei.value.details() == UNICODE_MESSAGE


def test_status_client_streaming(stub):
    reqs = [echo_pb2.EchoRequest(payload=b"ok"),
            echo_pb2.EchoRequest(respond_with_status=echo_pb2.EchoStatus(
                code=11, message=UNICODE_MESSAGE))]
    with pytest.raises(grpc.RpcError) as ei:
        stub.ClientStreamEcho(iter(reqs), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert ei.value.details() == UNICODE_MESSAGE


@pytest.mark.parametrize("path", [
    "/sluice.interop.v1.EchoService/NoSuchMethod",
    "/sluice.interop.v1.NoSuchService/UnaryEcho",
    "/no.such.pkg.Service/Method",
])
def test_unimplemented(channel, path):
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        call(echo_pb2.EchoRequest(payload=b"x").SerializeToString(), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unimplemented_streaming(channel):
    call = channel.stream_stream("/sluice.interop.v1.EchoService/NoSuchStream",
                                 request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as ei:
        list(call(iter([b"", b""]), timeout=TIMEOUT))
    assert ei.value.code() == grpc.StatusCode.UNIMPLEMENTED
