"""grpc.health.v1.Health and server reflection (grpc.reflection.v1 and v1alpha).

grpcio-reflection ships Python messages for v1alpha only; v1 is the same protocol
(identical messages and field numbers) under another package name, so the v1
calls use the v1alpha message classes on the /grpc.reflection.v1.… path."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

import interop_support as sup

TIMEOUT = 20.0
REFLECTION_SERVICES = {"v1alpha": sup.REFLECTION_V1ALPHA, "v1": sup.REFLECTION_V1}
ECHO_METHODS = {
    # name: (client_streaming, server_streaming, input, output)
    "UnaryEcho": (False, False, "EchoRequest", "EchoResponse"),
    "ClientStreamEcho": (True, False, "EchoRequest", "EchoResponse"),
    "ServerStreamEcho": (False, True, "EchoRequest", "EchoResponse"),
    "BidiEcho": (True, True, "EchoRequest", "EchoResponse"),
    "GetStats": (False, False, "StatsRequest", "StatsResponse"),
}


# ---- health ----------------------------------------------------------------

def test_health_check_overall(channel):
    resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                     timeout=TIMEOUT)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_health_check_unknown_service_not_found(channel):
    with pytest.raises(grpc.RpcError) as ei:
        health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_yields_serving_first(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""),
                                                     timeout=TIMEOUT)
    try:
        first = next(call)
        assert first.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        call.cancel()


def test_health_watch_unknown_service(channel):
    """Per health.proto, Watch on an unknown service answers SERVICE_UNKNOWN and
    keeps the stream open (it does not fail the call)."""
    call = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)
    try:
        first = next(call)
        assert first.status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    finally:
        call.cancel()


# ---- reflection --------------------------------------------------------------

def _reflect(channel, version: str, requests):
    method = channel.stream_stream(
        f"/{REFLECTION_SERVICES[version]}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return list(method(iter(requests), timeout=TIMEOUT))


def _files(response) -> list:
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    out = []
    for raw in response.file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto()
        fd.ParseFromString(raw)
        out.append(fd)
    return out


def _check_echo_file(fd: descriptor_pb2.FileDescriptorProto) -> None:
    assert fd.package == "sluice.interop.v1"
    services = {s.name: s for s in fd.service}
    assert "EchoService" in services
    methods = {m.name: m for m in services["EchoService"].method}
    assert set(methods) == set(ECHO_METHODS)
    for name, (cs, ss, inp, out) in ECHO_METHODS.items():
        m = methods[name]
        assert bool(m.client_streaming) == cs, name
        assert bool(m.server_streaming) == ss, name
        assert m.input_type.lstrip(".") == f"sluice.interop.v1.{inp}"
        assert m.output_type.lstrip(".") == f"sluice.interop.v1.{out}"
    messages = {m.name: m for m in fd.message_type}
    assert {"EchoRequest", "EchoStatus", "EchoResponse", "StatsRequest",
            "StatsResponse"} <= set(messages)
    assert [f.name for f in messages["EchoRequest"].field] == [
        "payload", "response_size", "response_count", "respond_with_status", "delay_ms",
        "pause_reading_ms", "tag"]


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_list_services(channel, version):
    [resp] = _reflect(channel, version, [reflection_pb2.ServerReflectionRequest(list_services="")])
    assert resp.WhichOneof("message_response") == "list_services_response"
    names = {s.name for s in resp.list_services_response.service}
    assert sup.ECHO_SERVICE in names
    assert sup.HEALTH_SERVICE in names


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_file_containing_symbol(channel, version):
    [resp] = _reflect(channel, version, [reflection_pb2.ServerReflectionRequest(
        file_containing_symbol=sup.ECHO_SERVICE)])
    files = _files(resp)
    echo_files = [f for f in files if any(s.name == "EchoService" for s in f.service)]
    assert len(echo_files) == 1
    _check_echo_file(echo_files[0])
    # The file name the server reported resolves through file_by_filename too.
    [again] = _reflect(channel, version, [reflection_pb2.ServerReflectionRequest(
        file_by_filename=echo_files[0].name)])
    assert any(f.name == echo_files[0].name and any(s.name == "EchoService" for s in f.service)
               for f in _files(again))


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_message_and_health_symbols(channel, version):
    reqs = [reflection_pb2.ServerReflectionRequest(file_containing_symbol=s)
            for s in ("sluice.interop.v1.EchoRequest", sup.HEALTH_SERVICE)]
    resp_echo, resp_health = _reflect(channel, version, reqs)  # two answers, one stream
    assert any(any(m.name == "EchoRequest" for m in f.message_type) for f in _files(resp_echo))
    health_files = [f for f in _files(resp_health) if any(s.name == "Health" for s in f.service)]
    assert len(health_files) == 1
    methods = {m.name for s in health_files[0].service if s.name == "Health" for m in s.method}
    assert {"Check", "Watch"} <= methods


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_unknown_symbol_not_found(channel, version):
    [resp] = _reflect(channel, version, [reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="no.such.Symbol")])
    assert resp.WhichOneof("message_response") == "error_response"
    assert resp.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


class _V1DescriptorDatabase(ProtoReflectionDescriptorDatabase):
    """grpcio-reflection's descriptor database, pointed at grpc.reflection.v1."""

    def __init__(self, channel):
        super().__init__(channel)

        class _Stub:
            ServerReflectionInfo = channel.stream_stream(
                f"/{sup.REFLECTION_V1}/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )

        self._stub = _Stub()


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_descriptor_pool(channel, version):
    """A stock reflection client builds a working descriptor pool from the server."""
    db = (_V1DescriptorDatabase if version == "v1" else ProtoReflectionDescriptorDatabase)(channel)
    assert sup.ECHO_SERVICE in set(db.get_services())
    pool = descriptor_pool.DescriptorPool(db)
    svc = pool.FindServiceByName(sup.ECHO_SERVICE)
    assert {m.name for m in svc.methods} == set(ECHO_METHODS)
    assert svc.methods_by_name["BidiEcho"].input_type.full_name == "sluice.interop.v1.EchoRequest"
    req = pool.FindMessageTypeByName("sluice.interop.v1.EchoRequest")
    assert req.fields_by_name["tag"].number == 7
    assert req.fields_by_name["respond_with_status"].message_type.full_name == \
        "sluice.interop.v1.EchoStatus"
