"""The Swift client's status for answers that are not plain gRPC successes or errors, after
PROTOCOL-HTTP2 (the HTTP/2 transport's `GRPCResponseHead` makes them, so the RPC layer sees
gRPC statuses only): an HTTP status without grpc-status maps by its table, a non-gRPC
content-type is UNKNOWN, a response without grpc-status is INTERNAL, a hand-made Trailers-Only
response carries its status and percent-encoded message, and a whole answer followed by
RST_STREAM(NO_ERROR) is a success. `sluice health` against the same h2-library server as the
C client's test (odd_server.py), over mutual TLS."""

from __future__ import annotations

import pytest

import cli_support as cs
from odd_server import OddServer


@pytest.fixture(scope="module")
def odd(certs):
    server = OddServer(certs).start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode,rc,says", [
    ("http-503", cs.EXIT_TRANSIENT, "UNAVAILABLE: the server answered HTTP status 503"),
    ("html", cs.EXIT_OTHER, "UNKNOWN: the server answered content-type 'text/html', not application/grpc"),
    ("no-status", cs.EXIT_OTHER, "INTERNAL: the server closed the stream without sending a status"),
    ("trailers-only", cs.EXIT_NOT_FOUND, "NOT_FOUND: gone ✓ 100%"),
])
def test_answer_maps_to_status(cli_runner, odd, mode, rc, says):
    odd.mode = mode
    r = cli_runner.run("health", "--timeout", "5", address=odd.address, timeout=60)
    assert r.rc == rc, r.explain()
    assert says in r.stderr, r.explain()


def test_answer_then_reset_no_error_is_success(cli_runner, odd):
    odd.mode = "serving"
    assert cli_runner.ok("health", address=odd.address).out.strip() == "SERVING"


def test_not_serving_is_transient(cli_runner, odd):
    """The server answers but cannot serve now (its database is down): exit 6, as for a
    server that cannot be reached, not 1."""
    odd.mode = "not-serving"
    r = cli_runner.run("health", address=odd.address, timeout=60).expect(cs.EXIT_TRANSIENT)
    assert r.out.strip() == "NOT_SERVING", r.explain()
