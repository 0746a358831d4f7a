"""Starting and talking to the two EchoService servers under test: the Swift
`sluice-interop serve` (a subprocess) and the Python reference server
(in-process). Both are wrapped in ServerHandle so tests do not care which."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

import grpc
import pytest

import interop_support as sup

SWIFT = "swift"
PYTHON = "python"

# Parametrization used by every "client → server" test: the same test body runs
# against the Swift server and against the Python reference server.
SERVER_KINDS = [
    pytest.param(PYTHON, marks=pytest.mark.python_server, id="python-server"),
    pytest.param(SWIFT, marks=pytest.mark.swift, id="swift-server"),
]


def require_binary(name: str) -> str:
    """Path of a Swift binary, or skip (fail when SLUICE_REQUIRE_BINARIES=1)."""
    path, reason = sup.find_binary(name)
    if path is None:
        if sup.binaries_required():
            pytest.fail(f"SLUICE_REQUIRE_BINARIES=1 but {reason}", pytrace=False)
        pytest.skip(f"Swift binary unavailable: {reason}")
    return path


@dataclass
class ServerHandle:
    kind: str
    host: str
    port: int
    certs: sup.Certs
    plaintext: bool = False
    ref: Optional[object] = None            # reference_server.ReferenceServer
    proc: Optional[sup.ManagedProcess] = None
    config: dict = field(default_factory=dict)
    workdir: str = ""
    crashes: list = field(default_factory=list)   # (argv, returncode, log excerpt)
    _stats_channel: Optional[grpc.Channel] = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def channel(self, client: Optional[str] = "client", options=None) -> grpc.Channel:
        if self.plaintext:
            return grpc.insecure_channel(self.address, options=list(options or []) +
                                         [("grpc.use_local_subchannel_pool", 1)])
        return sup.secure_channel(self.address, self.certs, client, options)

    def stub(self, channel):
        _, echo_grpc = sup.echo_modules()
        return echo_grpc.EchoServiceStub(channel)

    def stats(self, timeout: float = 5.0):
        echo_pb2, echo_grpc = sup.echo_modules()
        if self._stats_channel is None:
            self._stats_channel = self.channel()
        return echo_grpc.EchoServiceStub(self._stats_channel).GetStats(
            echo_pb2.StatsRequest(), timeout=timeout)

    def wait_cancelled(self, tag: str, timeout: float = 5.0) -> None:
        """Polls GetStats until `tag` is among cancelled_tags (≤ timeout s)."""
        sup.wait_until(lambda: tag in self.stats().cancelled_tags, timeout,
                       interval=0.05, what=f"server to record tag {tag!r} as cancelled")

    def assert_alive(self) -> None:
        if self.proc is not None and not self.proc.alive():
            raise AssertionError(
                f"{self.kind} server exited with {self.proc.proc.returncode}:\n"
                f"{self.proc.tail()}")

    def ensure_running(self) -> None:
        """If the Swift server died (a crash during an earlier test, whose report
        carries its log), note the crash and start a new one with the same
        configuration, so later tests fail or pass on their own merits. The
        session still fails at its end for every crash (see conftest)."""
        if self.proc is None or self.proc.alive():
            return
        self.crashes.append((self.proc.argv, self.proc.proc.returncode, self.proc.tail(6000)))
        self.proc.stop()
        if self._stats_channel is not None:
            self._stats_channel.close()
            self._stats_channel = None
        self.proc, self.port = _spawn_swift(self.certs, self.workdir, self.config)

    def stop(self) -> Optional[int]:
        if self._stats_channel is not None:
            self._stats_channel.close()
            self._stats_channel = None
        if self.ref is not None:
            self.ref.stop()
            return 0
        if self.proc is not None:
            return self.proc.stop()
        return None


def swift_serve_argv(binary: str, port: int, certs: sup.Certs, *,
                     max_receive_message_size: Optional[int] = None,
                     stream_window: Optional[int] = None,
                     max_stream_window: Optional[int] = None,
                     connection_window: Optional[int] = None,
                     max_concurrent_streams: Optional[int] = None,
                     plaintext: bool = False) -> list:
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}"]
    if plaintext:
        argv.append("--h2c")
    else:
        argv += ["--cert", certs.server_cert, "--key", certs.server_key,
                 "--client-ca", certs.ca, "--require-client-cert"]
    if max_receive_message_size is not None:
        argv += ["--max-receive-message-size", str(max_receive_message_size)]
    if stream_window is not None:
        argv += ["--stream-window", str(stream_window)]
    if max_stream_window is not None:
        argv += ["--max-stream-window", str(max_stream_window)]
    if connection_window is not None:
        argv += ["--connection-window", str(connection_window)]
    if max_concurrent_streams is not None:
        argv += ["--max-concurrent-streams", str(max_concurrent_streams)]
    return argv


def start_server(kind: str, certs: sup.Certs, workdir: str, **config) -> ServerHandle:
    """Starts a server of `kind` with the given configuration (keys:
    max_receive_message_size, stream_window, max_stream_window (Swift only),
    connection_window, max_concurrent_streams, plaintext). Skips when the Swift binary is missing."""
    plaintext = bool(config.get("plaintext", False))
    if kind == PYTHON:
        import reference_server

        ref = reference_server.start_reference_server(
            certs,
            max_receive_message_size=config.get("max_receive_message_size",
                                                sup.DEFAULT_MAX_RECEIVE),
            max_concurrent_streams=config.get("max_concurrent_streams"),
            stream_window=config.get("stream_window"),
            plaintext=plaintext,
        )
        return ServerHandle(kind=kind, host=ref.host, port=ref.port, certs=certs,
                            plaintext=plaintext, ref=ref, config=dict(config))

    mp, port = _spawn_swift(certs, workdir, config)
    return ServerHandle(kind=kind, host="127.0.0.1", port=port, certs=certs,
                        plaintext=plaintext, proc=mp, config=dict(config), workdir=workdir)


def _spawn_swift(certs: sup.Certs, workdir: str, config: dict):
    """Starts `sluice-interop serve` on a free port; (process, port) once it listens."""
    binary = require_binary("sluice-interop")
    last_error: Optional[AssertionError] = None
    for _ in range(3):  # a free port can be taken between probe and bind
        port = sup.free_port()
        argv = swift_serve_argv(binary, port, certs, **config)
        log = os.path.join(workdir, f"sluice-interop-serve-{port}.log")
        # The binary also reads SLUICED_* variables; the test decides everything.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
        mp = sup.ManagedProcess(argv, log, env=env).start()
        try:
            sup.wait_for_listen(mp, "127.0.0.1", port)
        except AssertionError as e:
            mp.stop()
            last_error = e
            if "in use" in mp.output().lower():
                continue
            raise
        return mp, port
    raise last_error  # type: ignore[misc]
