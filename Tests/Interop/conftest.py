"""Fixtures for the gRPC interop suite.

Environment:
  SLUICE_BIN_DIR           directory with sluice-interop, sluiced, sluice
  SLUICE_CERTS_DIR         certificates made by scripts/make-certs.sh; when unset,
                           a development set is generated in a temp dir
  SLUICE_REQUIRE_BINARIES  "1": a missing Swift binary fails instead of skipping
"""

from __future__ import annotations

import os
import sys

import pytest

# grpc core's INFO lines (e.g. every refused handshake of the TLS tests) are noise.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import interop_support as sup  # noqa: E402
from servers import SERVER_KINDS  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "python_server: runs against the Python reference server (validates the test)")
    config.addinivalue_line("markers", "swift: needs a Swift binary from SLUICE_BIN_DIR")
    # Stubs are generated before collection so test modules can import them.
    sup.generate_stubs()


@pytest.fixture(scope="session")
def generated_stubs():
    """The generated echo modules (generation itself ran in pytest_configure)."""
    sup.generate_stubs()
    return sup.echo_modules()


@pytest.fixture(scope="session")
def pb(generated_stubs):
    return generated_stubs[0]


@pytest.fixture(scope="session")
def pb_grpc(generated_stubs):
    return generated_stubs[1]


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> sup.Certs:
    d = os.environ.get("SLUICE_CERTS_DIR", "").strip()
    if d:
        import devcerts

        missing = devcerts.missing_files(d)
        if missing:
            pytest.fail(f"SLUICE_CERTS_DIR={d} lacks {', '.join(missing)}", pytrace=False)
        return sup.Certs(os.path.abspath(d))
    import devcerts

    return sup.Certs(devcerts.make_dev_certs(str(tmp_path_factory.mktemp("certs"))))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """One moto S3 server (`python -m moto.server`, its own process) for the whole
    session; tests make their own buckets in it. See s3_support.py."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError as e:
        reason = f"moto[server] and boto3 are needed for the S3 tests ({e}); see requirements.txt"
        if sup.binaries_required():
            pytest.fail(f"SLUICE_REQUIRE_BINARIES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    import s3_support

    server = s3_support.MotoServer(str(tmp_path_factory.mktemp("moto"))).start()
    yield server
    server.stop()


@pytest.fixture
def proxy(moto_server):
    """A fault-injecting proxy in front of the session's moto server, seeded from
    SLUICE_S3_FAULT_SEED when set (each test prints its seed, so a failure can be replayed)."""
    import s3_support

    seed = int(os.environ.get("SLUICE_S3_FAULT_SEED", "0") or 0) or None
    p = s3_support.FaultProxy(moto_server.port, seed=seed)
    print(f"SLUICE_S3_FAULT_SEED={p.seed}")
    yield p
    print(p.summary())
    p.close()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("interop"))


@pytest.fixture(scope="session")
def server_pool(certs, workdir):
    """Starts servers on demand, keyed by (kind, config); all stopped at session end."""
    import servers

    started = {}

    def get(kind: str, **config):
        key = (kind, tuple(sorted(config.items())))
        if key not in started:
            started[key] = servers.start_server(kind, certs, workdir, **config)
        handle = started[key]
        handle.ensure_running()
        return handle

    yield get
    for handle in started.values():
        handle.ensure_running()  # records a crash in the last test, if any
    crashes = [c for h in started.values() for c in h.crashes]
    for handle in started.values():
        handle.stop()
    if crashes:
        pytest.fail(f"{len(crashes)} server crash(es) during the session:\n" + "\n".join(
            f"{argv} -> exit {rc}\n{log[:3000]}" for argv, rc, log in crashes), pytrace=False)


SERVER_FIXTURES = ("echo_server", "small_limit_server", "four_stream_server", "h2c_server",
                   "window_server", "swift_target")


@pytest.fixture(autouse=True)
def _servers_running(request):
    """Before each test, restart any server it uses that crashed in an earlier test."""
    for name in SERVER_FIXTURES:
        if name in request.fixturenames:
            handle = request.getfixturevalue(name)
            ensure = getattr(handle, "ensure_running", None)
            if ensure is not None:
                ensure()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every Swift server log the test used."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        proc = getattr(value, "proc", None)
        if isinstance(proc, sup.ManagedProcess) and id(proc) not in seen:
            seen.add(id(proc))
            rep.sections.append((f"log of {os.path.basename(proc.argv[0])} ({proc.log_path})",
                                 proc.tail(6000)))


@pytest.fixture(scope="session", params=SERVER_KINDS)
def echo_server(request, server_pool):
    """The default EchoService server (mutual TLS, 4 MiB max receive), Swift or Python."""
    return server_pool(request.param)


@pytest.fixture
def channel(echo_server):
    ch = echo_server.channel()
    yield ch
    ch.close()


@pytest.fixture
def stub(echo_server, channel):
    return echo_server.stub(channel)


@pytest.fixture
def reference_server(certs):
    """A fresh in-process Python reference server (for the Swift client tests)."""
    import reference_server as rs

    srv = rs.start_reference_server(certs)
    yield srv
    srv.stop()
