"""sluice-c's status for answers that are not plain gRPC successes or errors, after
PROTOCOL-HTTP2: an HTTP status without grpc-status maps by its table, a non-gRPC
content-type is UNKNOWN, RST_STREAM(REFUSED_STREAM) is UNAVAILABLE, a response without
grpc-status is INTERNAL, a hand-made Trailers-Only response carries the status and its
percent-encoded message, GOAWAY before the call is UNAVAILABLE, and a whole answer followed
by RST_STREAM(NO_ERROR) is a success. Each with the plain and the ASan/UBSan build."""

from __future__ import annotations

import pytest

import c_support as cs
from odd_server import OddServer


@pytest.fixture(scope="module")
def odd(certs):
    server = OddServer(certs).start()
    yield server
    server.stop()


@pytest.fixture(params=["plain", "asan"])
def client(request, c_binaries, certs, odd, tmp_path):
    asan = request.param == "asan"
    return cs.CClient(c_binaries[1 if asan else 0], certs, str(tmp_path), odd.address,
                      sanitized=asan)


@pytest.mark.parametrize("mode,rc,status,says", [
    ("http-503", cs.EXIT_TRANSIENT, "UNAVAILABLE", "HTTP 503"),
    ("html", 1, "UNKNOWN", "content-type"),
    ("refused", cs.EXIT_TRANSIENT, "UNAVAILABLE", "REFUSED_STREAM"),
    ("no-status", 1, "INTERNAL", "without grpc-status"),
    ("trailers-only", cs.EXIT_NOT_FOUND, "NOT_FOUND", "gone ✓ 100%"),
    ("goaway", cs.EXIT_TRANSIENT, "UNAVAILABLE", ""),
])
def test_answer_maps_to_status(client, odd, mode, rc, status, says):
    odd.mode = mode
    r = client.run("health")
    cs.assert_error(r, rc, status)
    assert says in r.stderr, r.explain()


def test_answer_then_reset_no_error_is_success(client, odd):
    odd.mode = "serving"
    assert client.ok("health").stdout == "SERVING\n"


def test_not_serving_is_transient_as_in_the_swift_cli(client, odd):
    odd.mode = "not-serving"
    r = client.run("health")
    cs.assert_error(r, cs.EXIT_TRANSIENT, "UNAVAILABLE")
    assert r.stdout == "NOT_SERVING\n", r.explain()
