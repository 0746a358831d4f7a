"""sluiced, the storage server, seen by stock gRPC and by the `sluice` CLI:
health and reflection over mutual TLS, and a graceful SIGTERM.

Extra sluiced arguments (e.g. a data directory) can be given in
SLUICE_TEST_SLUICED_ARGS (split like a shell would)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

import interop_support as sup
from servers import require_binary

pytestmark = pytest.mark.swift

TIMEOUT = 10.0


class Sluiced:
    def __init__(self, proc: sup.ManagedProcess, port: int, certs: sup.Certs):
        self.proc = proc
        self.port = port
        self.certs = certs
        self.address = f"127.0.0.1:{port}"

    def channel(self, client="client"):
        return sup.secure_channel(self.address, self.certs, client)


@pytest.fixture
def sluiced(certs, workdir):
    binary = require_binary("sluiced")
    extra = shlex.split(os.environ.get("SLUICE_TEST_SLUICED_ARGS", ""))
    mp = None
    for _ in range(3):
        port = sup.free_port()
        argv = [binary, "--listen", f"127.0.0.1:{port}", "--cert", certs.server_cert,
                "--key", certs.server_key, "--client-ca", certs.ca, "--require-client-cert",
                *extra]
        # sluiced also reads SLUICED_* variables; here the flags decide everything
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
        mp = sup.ManagedProcess(argv, os.path.join(workdir, f"sluiced-{port}.log"),
                                env=env).start()
        try:
            sup.wait_for_listen(mp, "127.0.0.1", port, timeout=30)
            break
        except AssertionError:
            mp.stop()
            if "in use" not in mp.output().lower():
                raise
    handle = Sluiced(mp, port, certs)
    yield handle
    mp.stop()


@pytest.fixture
def sluice_cli():
    return require_binary("sluice")


def test_health_serving(sluiced):
    with sluiced.channel() as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""),
                                                    timeout=TIMEOUT)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


def test_requires_client_certificate(sluiced):
    creds = sup.channel_credentials(sluiced.certs, client=None)
    with grpc.secure_channel(sluiced.address, creds,
                             options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        with pytest.raises(grpc.RpcError) as ei:
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(),
                                                 timeout=TIMEOUT)
    assert ei.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("service", [sup.REFLECTION_V1, sup.REFLECTION_V1ALPHA])
def test_reflection_lists_health(sluiced, service):
    with sluiced.channel() as ch:
        method = ch.stream_stream(
            f"/{service}/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        [resp] = list(method(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                             timeout=TIMEOUT))
    names = {s.name for s in resp.list_services_response.service}
    assert sup.HEALTH_SERVICE in names
    # the interop test service belongs to sluice-interop only
    assert sup.ECHO_SERVICE not in names


def test_sigterm_graceful_exit(sluiced):
    with sluiced.channel() as ch:
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
    sluiced.proc.signal(signal.SIGTERM)
    rc = sluiced.proc.wait(10)
    assert rc is not None, f"sluiced still running 10 s after SIGTERM:\n{sluiced.proc.tail()}"
    assert rc == 0, f"sluiced exited {rc} on SIGTERM:\n{sluiced.proc.tail()}"
    assert not sup.port_accepts("127.0.0.1", sluiced.port)


def test_sighup_is_ignored_with_a_notice(sluiced):
    """SIGHUP (systemctl reload, a closed terminal) must not kill sluiced without a drain: it
    reloads nothing, says so, and keeps serving."""
    sluiced.proc.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "SIGHUP ignored" not in sluiced.proc.tail() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "SIGHUP ignored" in sluiced.proc.tail(), sluiced.proc.tail()
    with sluiced.channel() as ch:
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
    assert sluiced.proc.proc.poll() is None, f"sluiced exited on SIGHUP:\n{sluiced.proc.tail()}"


def test_sigterm_with_open_stream(sluiced):
    """A client holding a Watch stream open must not keep sluiced from exiting;
    the stream ends (with a status or a final message) once the server is gone."""
    ended = threading.Event()
    first = []

    with sluiced.channel() as ch:
        call = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(),
                                                    timeout=30)

        def consume():
            try:
                for msg in call:
                    first.append(msg.status)
            except grpc.RpcError:
                pass
            finally:
                ended.set()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        sup.wait_until(lambda: first, 5.0, what="first Watch response")
        assert first[0] == health_pb2.HealthCheckResponse.SERVING
        sluiced.proc.signal(signal.SIGTERM)
        rc = sluiced.proc.wait(10)
        assert rc == 0, f"sluiced exit {rc} (None = still running):\n{sluiced.proc.tail()}"
        assert ended.wait(10), "Watch stream still open after sluiced exited"
        call.cancel()
        t.join(timeout=5)


def _run_cli(binary, args, env_extra=None):
    env = dict(os.environ)
    for k in ("SLUICE_SERVER", "SLUICE_CA", "SLUICE_CERT", "SLUICE_KEY"):
        env.pop(k, None)
    env.update(env_extra or {})
    return subprocess.run([binary, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=60)


def _explain(proc) -> str:
    return (f"`{' '.join(proc.args)}` exited {proc.returncode}\nstdout:\n"
            f"{proc.stdout.decode('utf-8', 'replace')[-2000:]}\nstderr:\n"
            f"{proc.stderr.decode('utf-8', 'replace')[-2000:]}")


def test_cli_health_flags(sluiced, sluice_cli, certs):
    cert, key = certs.client("client")
    proc = _run_cli(sluice_cli, ["health", "--server", sluiced.address, "--ca", certs.ca,
                                 "--cert", cert, "--key", key])
    assert proc.returncode == 0, _explain(proc)
    assert b"SERVING" in proc.stdout, _explain(proc)


def test_cli_health_env(sluiced, sluice_cli, certs):
    cert, key = certs.client("client")
    proc = _run_cli(sluice_cli, ["health"], {"SLUICE_SERVER": sluiced.address,
                                             "SLUICE_CA": certs.ca, "SLUICE_CERT": cert,
                                             "SLUICE_KEY": key})
    assert proc.returncode == 0, _explain(proc)
    assert b"SERVING" in proc.stdout, _explain(proc)


def test_cli_health_untrusted_server_fails(sluiced, sluice_cli, certs):
    cert, key = certs.client("client")
    proc = _run_cli(sluice_cli, ["health", "--server", sluiced.address,
                                 "--ca", certs.path("other-ca.pem"), "--cert", cert, "--key", key])
    assert proc.returncode != 0, _explain(proc)
    assert b"SERVING" not in proc.stdout.replace(b"NOT_SERVING", b""), _explain(proc)


def test_cli_health_nobody_listening_fails(sluice_cli, certs):
    cert, key = certs.client("client")
    proc = _run_cli(sluice_cli, ["health", "--server", f"127.0.0.1:{sup.free_port()}",
                                 "--ca", certs.ca, "--cert", cert, "--key", key])
    assert proc.returncode != 0, _explain(proc)
