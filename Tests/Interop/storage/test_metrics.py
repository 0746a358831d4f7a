"""Metrics and the access log, from the outside: sluiced with --metrics-listen serves
Prometheus' text format on plain HTTP/1.1 GET /metrics (404 elsewhere, 405 for other
methods); the page is parsed with prometheus_client's own parser and its counters are
checked against the calls this module makes (exact deltas for calls by method and status,
bytes at least the payloads, histogram counts); connection and stream gauges come back to
where they were; no principal and no object name ever appears on the page. Every call has
an info line carrying the request id the client received in sluice-request-id, unless
--access-log off."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import threading
import time

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

import interop_support as sup
import storage_support as ss
from storage_support import Code, expect_error, wait_for

KIB = 1024
OBJECTS = "sluice.v1.ObjectService"
SESSIONS = "sluice.v1.UploadSessionService"
PRINCIPAL_PARTS = ("sluice-client", "client.sluice.test")
METRICS_LINE = re.compile(r"sluiced metrics at http://(\S+)/metrics")


class Page:
    """One scrape, parsed: every sample by (name, labels)."""

    def __init__(self, text: str):
        self.text = text
        self.samples: dict[tuple[str, frozenset], float] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.samples)


def metrics_address(server) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = METRICS_LINE.search(server.mp.output())
        if found:
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"sluiced printed no metrics address:\n{server.mp.tail()}")


def http_get(address: str, path: str = "/metrics", method: str = "GET"):
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        conn.close()


def scrape(server) -> Page:
    status, headers, body = http_get(metrics_address(server))
    assert status == 200, body
    assert headers.get("content-type", "").startswith("text/plain; version=0.0.4"), headers
    return Page(body)


@pytest.fixture(scope="module")
def server(module_storage):
    # A collector and a scrubber pass every second, so their counters move within a test.
    return module_storage.server(label="sluiced-metrics", metrics_listen="127.0.0.1:0",
                                 collector_interval=1, scrub_interval=1)


@pytest.fixture(scope="module")
def quiet_server(module_storage):
    return module_storage.server(label="sluiced-no-access-log", access_log="off")


def test_calls_are_counted_by_service_method_and_code(server, client):
    before = scrape(server)
    missing = ss.unique_name("metrics/missing")
    for _ in range(3):
        expect_error(Code.NOT_FOUND, client.get_object, missing)
    data = ss.random_bytes(96 * KIB, seed=13)
    name = ss.unique_name("metrics/obj")
    client.put_object(name, data, partition_size=32 * KIB, parallel=1)
    for _ in range(2):
        assert client.read(name) == data
    after = scrape(server)

    def delta(name_, **labels):
        return after.value(name_, **labels) - before.value(name_, **labels)

    calls = "sluice_rpc_calls_total"
    assert after.types["sluice_rpc_calls"] == "counter"   # the parser drops _total from family names
    assert delta(calls, service=OBJECTS, method="GetObject", code="NOT_FOUND") == 3
    assert delta(calls, service=SESSIONS, method="CreateSession", code="OK") == 1
    assert delta(calls, service=SESSIONS, method="UploadPartition", code="OK") == 3
    assert delta(calls, service=SESSIONS, method="CommitSession", code="OK") == 1
    assert delta(calls, service=OBJECTS, method="ReadObject", code="OK") == 2
    assert delta(calls, service=OBJECTS, method="GetObject", code="OK") == 0

    histogram = "sluice_rpc_duration_seconds"
    assert after.types[histogram] == "histogram"
    assert delta(f"{histogram}_count", service=SESSIONS, method="UploadPartition") == 3
    assert delta(f"{histogram}_bucket", service=SESSIONS, method="UploadPartition", le="+Inf") == 3
    assert delta(f"{histogram}_count", service=OBJECTS, method="GetObject") == 3
    assert delta(f"{histogram}_sum", service=SESSIONS, method="UploadPartition") > 0

    received = delta("sluice_rpc_received_bytes_total", service=SESSIONS, method="UploadPartition")
    sent = delta("sluice_rpc_sent_bytes_total", service=OBJECTS, method="ReadObject")
    assert len(data) <= received < len(data) + 16 * KIB, received
    assert 2 * len(data) <= sent < 2 * len(data) + 16 * KIB, sent

    assert delta("sluice_partitions_stored_total") == 3
    assert delta("sluice_partition_stored_bytes_total") == len(data)
    assert delta("sluice_upload_sessions_created_total") == 1
    assert delta("sluice_db_pool_wait_seconds_count") > 0
    if server.blobs.kind == "s3":
        assert delta("sluice_s3_requests_total", operation="put_object", outcome="2xx") >= 3


def test_identical_partitions_are_counted_as_deduplicated(server, client):
    data = ss.random_bytes(64 * KIB, seed=14)
    client.put_object(ss.unique_name("metrics/dedup-a"), data, partition_size=32 * KIB, parallel=1)
    before = scrape(server)
    client.put_object(ss.unique_name("metrics/dedup-b"), data, partition_size=32 * KIB, parallel=1)
    after = scrape(server)
    assert after.value("sluice_partitions_stored_total") - before.value("sluice_partitions_stored_total") == 2
    assert (after.value("sluice_partitions_deduplicated_total")
            - before.value("sluice_partitions_deduplicated_total")) == 2
    assert after.value("sluice_partition_stored_bytes_total") == before.value("sluice_partition_stored_bytes_total")


def test_unknown_methods_share_one_label_value(server):
    invented = [f"/made.up.{ss.unique_name('svc')}/Nope", f"/{SESSIONS}/{ss.unique_name('Invented')}"]
    before = scrape(server)
    channel = sup.secure_channel(server.address, server.certs)
    try:
        for path in invented:
            call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
            with pytest.raises(grpc.RpcError) as caught:
                call(b"", timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        channel.close()
    after = scrape(server)
    labels = dict(service="unknown", method="unknown", code="UNIMPLEMENTED")
    assert after.value("sluice_rpc_calls_total", **labels) - before.value("sluice_rpc_calls_total", **labels) == 2
    for path in invented:
        for part in path.strip("/").split("/"):
            if part != SESSIONS:
                assert part not in after.text


def test_requests_that_are_not_grpc_are_counted_by_reason_and_are_no_calls(server):
    """A request the transport answers itself (HTTP 405 for another method, 415 for another
    content-type) never becomes a call: it is counted in sluice_requests_refused_total by
    reason, not in sluice_rpc_calls_total."""
    import raw_h2
    path = f"/{OBJECTS}/GetObject"
    before = scrape(server)
    with raw_h2.RawH2("127.0.0.1", server.port, server.certs, "client").connect() as raw:
        refused = [raw.unary(path, b"", content_type="text/plain"),
                   raw.unary(path, b"", content_type=None),
                   raw.unary(path, b"", method="GET")]
        results = [raw.wait(sid, timeout=ss.TIMEOUT) for sid in refused]
    assert [r.http_status for r in results] == [415, 415, 405], results
    assert all(r.grpc_status == Code.INTERNAL.value[0] for r in results), results
    def counted():
        page = scrape(server)
        moved = page.value("sluice_requests_refused_total", reason="method") > before.value(
            "sluice_requests_refused_total", reason="method")
        return page if moved else None

    after = wait_for(counted, "the refusals on the page")
    delta = lambda name, **labels: after.value(name, **labels) - before.value(name, **labels)
    assert delta("sluice_requests_refused_total", reason="content_type") == 2
    assert delta("sluice_requests_refused_total", reason="method") == 1
    for code in ("INTERNAL", "UNIMPLEMENTED", "OK"):
        for service, method in ((OBJECTS, "GetObject"), ("unknown", "unknown")):
            assert delta("sluice_rpc_calls_total", service=service, method=method, code=code) == 0


def test_header_lists_past_the_limit_are_refused_counted_and_logged_however_large(server):
    """A header list past the 16 KiB limit is answered RESOURCE_EXHAUSTED, counted under
    reason="header_size" and logged, whatever its size and its block's: 40 KB in one value,
    ~80 KB of 2,000 small fields (past four times the limit, where the server stops looking
    at the block; it used to reset that stream with INTERNAL_ERROR, uncounted and unlogged),
    and 3,000 fields in a block over 64 KiB."""
    import raw_h2
    marker = "request headers exceed the limit of 16384 bytes"
    logged_before = server.mp.output().count(marker)
    before = scrape(server)
    lists = {
        "one 40 KB value": [("x-big", "a" * 40000)],
        "2,000 small fields": [(f"x-k{i}", "v") for i in range(2000)],
        "3,000 fields, block over 64 KiB": [(f"x-k{i}", os.urandom(20).hex()) for i in range(3000)],
    }
    path = f"/{OBJECTS}/GetObject"
    with raw_h2.RawH2("127.0.0.1", server.port, server.certs, "client").connect() as raw:
        raw.pump(0.5)  # the server's SETTINGS: 64 KiB frames carry the largest block in two
        results = {}
        for what, extra in lists.items():
            sid = raw.new_stream()
            raw.send_headers(sid, raw.request_headers(path, extra=extra))
            results[what] = raw.wait(sid, timeout=ss.TIMEOUT)
        assert raw.goaway is None and not raw.closed, raw.goaway
    for what, st in results.items():
        assert st.grpc_status == Code.RESOURCE_EXHAUSTED.value[0] and marker in (st.grpc_message or ""), (what, st)

    def counted():
        page = scrape(server)
        moved = page.value("sluice_requests_refused_total", reason="header_size") - before.value(
            "sluice_requests_refused_total", reason="header_size")
        return page if moved >= len(lists) else None

    after = wait_for(counted, "the header-size refusals on the page")
    assert after.value("sluice_requests_refused_total", reason="header_size") - before.value(
        "sluice_requests_refused_total", reason="header_size") == len(lists)
    wait_for(lambda: server.mp.output().count(marker) - logged_before == len(lists) or None,
             f"{len(lists)} access log lines of header-size refusals")


def test_open_sessions_follow_create_and_abort(server, client):
    before = scrape(server).value("sluice_upload_sessions_open")
    session = client.create_session(ss.unique_name("metrics/open"), b"abc", 4)
    assert scrape(server).value("sluice_upload_sessions_open") == before + 1
    client.abort(session.session_id)
    assert scrape(server).value("sluice_upload_sessions_open") == before


def test_connection_and_stream_gauges_return_to_baseline(server):
    baseline = scrape(server)
    connections0 = baseline.value("sluice_connections_open")
    streams0 = baseline.value("sluice_streams_open")
    accepted0 = baseline.value("sluice_connections_accepted_total")

    clients = [ss.StorageClient(sup.secure_channel(server.address, server.certs)) for _ in range(3)]
    release = threading.Event()
    session = clients[0].create_session(ss.unique_name("metrics/held"), b"x" * 8, 8)

    def held_upload():
        yield ss.us_pb.UploadPartitionRequest(
            target=ss.us_pb.PartitionTarget(session_id=session.session_id, partition_index=0))
        release.wait(20)

    future = clients[1].sessions.UploadPartition.future(held_upload(), timeout=30)
    try:
        for c in clients[2:]:
            expect_error(Code.NOT_FOUND, c.get_object, ss.unique_name("metrics/none"))
        def stream_counted():
            page = scrape(server)
            return page if page.value("sluice_streams_open") >= streams0 + 1 else None
        during = wait_for(stream_counted, "the held upload to count as an open stream")
        # Our three are open; the baseline's may have closed meanwhile (an earlier test's
        # client ends asynchronously), so it is no floor here, unlike the accepted total.
        assert during.value("sluice_connections_open") >= 3
        assert during.value("sluice_connections_accepted_total") >= accepted0 + 3
    finally:
        release.set()
        future.cancel()
        for c in clients:
            c.close()

    def back():   # (at most: a connection of an earlier test may close meanwhile, none may open)
        page = scrape(server)
        return (page.value("sluice_connections_open") <= connections0
                and page.value("sluice_streams_open") <= streams0
                and page.value("sluice_unread_request_bytes") == 0)
    wait_for(back, "the connection, stream and unread-byte gauges to return to their baseline")


def test_collector_and_scrubber_passes_are_counted(server, client):
    data = ss.random_bytes(8 * KIB, seed=15)
    client.put_object(ss.unique_name("metrics/scrubbed"), data, partition_size=4 * KIB)
    before = scrape(server)

    def moved():
        page = scrape(server)
        done = (page.value("sluice_collector_passes_total", result="ok")
                > before.value("sluice_collector_passes_total", result="ok")
                and page.value("sluice_scrubber_passes_total", result="ok")
                > before.value("sluice_scrubber_passes_total", result="ok"))
        return page if done else None
    after = wait_for(moved, "a collector pass and a scrubber pass", timeout=20)
    assert after.value("sluice_scrubber_checked_blobs_total") >= 2
    assert after.value("sluice_scrubber_checked_bytes_total") >= len(data)
    assert after.value("sluice_scrubber_findings_total", kind="damaged") == 0
    assert after.value("sluice_collector_passes_total", result="failed") == 0


@ss.only_blob_stores("s3")
def test_s3_attempts_and_retries_are_counted(storage, proxy):
    attempts = 3
    store = storage.blob_store()
    srv = storage.server(blobs=store.via(proxy.endpoint), metrics_listen="127.0.0.1:0",
                         s3_attempts=attempts, s3_backoff_ms=5)
    c = srv.client()
    data = ss.random_bytes(16 * KIB, seed=16)
    session = c.create_session(ss.unique_name("metrics/s3"), data, 16 * KIB)
    before = scrape(srv)
    proxy.configure(rate=1.0, mix={"slowdown": 1}, methods={"PUT"})      # every PUT: 503 SlowDown
    try:
        expect_error(Code.UNAVAILABLE, c.upload_partition, session.session_id, 0, data)
    finally:
        proxy.configure(rate=0.0)
    after = scrape(srv)
    failed = dict(operation="put_object", outcome="5xx")
    assert after.value("sluice_s3_requests_total", **failed) - before.value("sluice_s3_requests_total", **failed) \
        == attempts
    retries = dict(operation="put_object")
    assert after.value("sluice_s3_retries_total", **retries) - before.value("sluice_s3_retries_total", **retries) \
        == attempts - 1
    assert (after.value("sluice_s3_request_duration_seconds_count", **retries)
            - before.value("sluice_s3_request_duration_seconds_count", **retries)) == attempts


def test_other_paths_and_methods_are_refused(server):
    address = metrics_address(server)
    status, _, _ = http_get(address, "/")
    assert status == 404
    status, _, _ = http_get(address, "/metrics/extra")
    assert status == 404
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = http_get(address, "/metrics", method)
        assert status == 405, method
        assert headers.get("allow") == "GET"
    status, _, body = http_get(address, "/metrics?debug=1")
    assert status == 200 and "sluice_rpc_calls_total" in body


METRICS_MAX_CONNECTIONS = 16  # MetricsConnectionLimits.maxConnections
METRICS_REQUEST_TIMEOUT = 5.0  # seconds: MetricsConnectionLimits.requestTimeout


def _metrics_socket(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _seconds_until_closed(sock: socket.socket, limit: float) -> float:
    """How long until the server closes `sock` (EOF or reset); fails past `limit`."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError(f"the metrics listener kept the connection open for {limit} s")
    return time.monotonic() - start


def _wait_until_scrape_works(address: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _, _ = http_get(address)
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the metrics listener did not serve again")
        time.sleep(0.2)


def test_metrics_connections_without_a_complete_request_are_closed(server):
    """Silent, trickling and idle keep-alive connections are closed after the request timeout,
    so they cannot pile up; a prompt scrape on the same kind of connection is served."""
    address = metrics_address(server)
    silent = _metrics_socket(address)
    trickling = _metrics_socket(address)
    trickling.sendall(b"GET /metrics HTTP/1.1\r\n")
    keep_alive = _metrics_socket(address)
    keep_alive.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    keep_alive.settimeout(10)
    first = keep_alive.recv(65536)
    assert first.startswith(b"HTTP/1.1 200"), first[:100]
    try:
        for sock in (silent, trickling, keep_alive):
            took = _seconds_until_closed(sock, METRICS_REQUEST_TIMEOUT + 5)
            assert took <= METRICS_REQUEST_TIMEOUT + 2, took
    finally:
        for sock in (silent, trickling, keep_alive):
            sock.close()
    _wait_until_scrape_works(address)


def test_metrics_connections_past_the_cap_are_refused_at_once(server):
    """Past 16 open connections a new one is closed as soon as it is accepted, the gRPC service
    is untouched, and scrapes work again once the holders go."""
    address = metrics_address(server)
    holders = [_metrics_socket(address) for _ in range(METRICS_MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)  # every holder accepted and counted
        for _ in range(3):
            extra = _metrics_socket(address)
            try:
                took = _seconds_until_closed(extra, 3)
                assert took < 2, took
            finally:
                extra.close()
        server.client().list_objects(page_size=1)  # the gRPC service is untouched
    finally:
        for sock in holders:
            sock.close()
    _wait_until_scrape_works(address)


def test_the_page_names_no_principal_and_no_object(server, client):
    name = ss.unique_name("metrics/secret-name")
    client.put_object(name, b"payload", partition_size=4)
    expect_error(Code.NOT_FOUND, client.get_object, name + "-absent")
    page = scrape(server)
    for forbidden in (name, *PRINCIPAL_PARTS, "CN="):
        assert forbidden not in page.text, f"{forbidden!r} appears on the metrics page"
    # the catalogue is all there, with Prometheus' suffixes
    for metric in ("sluice_connections_open", "sluice_streams_open", "sluice_unread_request_bytes",
                   "sluice_upload_sessions_open",
                   "sluice_db_pool_connections_in_use", "sluice_db_pool_wait_seconds_count",
                   "sluice_partitions_deduplicated_total", "sluice_scrubber_checked_blobs_total"):
        assert page.has(metric), f"{metric} is missing"


def test_series_with_known_labels_are_listed_at_zero_from_the_start(storage):
    """A fresh server's page lists the series whose label values are a closed set (at 0),
    so rates and ratios over them read 0 rather than "no data" before the first event."""
    page = scrape(storage.server(label="sluiced-metrics-fresh", metrics_listen="127.0.0.1:0"))
    expected = [("sluice_stream_window_growths_total", {}), ("sluice_unread_request_bytes", {})]
    expected += [("sluice_requests_refused_total", {"reason": r}) for r in ("method", "content_type", "header_size")]
    expected += [("sluice_quota_refusals_total", {"reason": r}) for r in ("bytes", "objects", "sessions")]
    expected += [("sluice_rate_limit_refusals_total", {"kind": k}) for k in ("requests", "bytes_in", "bytes_out")]
    expected += [(m, {"result": r}) for m in ("sluice_collector_passes_total", "sluice_scrubber_passes_total")
                 for r in ("ok", "failed")]
    expected += [("sluice_scrubber_findings_total", {"kind": k}) for k in ("damaged", "missing")]
    for name, labels in expected:
        assert (name, frozenset(labels.items())) in page.samples, f"{name}{labels} is not listed"


def _call_with_request_id(client, name: str, code=None) -> str:
    request = ss.obj_pb.GetObjectRequest(name=name)
    if code is None:
        _, call = client.objects.GetObject.with_call(request, timeout=30)
        metadata = call.initial_metadata()
    else:
        with pytest.raises(grpc.RpcError) as caught:
            client.objects.GetObject(request, timeout=30)
        assert caught.value.code() == code
        metadata = caught.value.initial_metadata() or caught.value.trailing_metadata()
    ids = [v for k, v in metadata if k == "sluice-request-id"]
    assert len(ids) == 1, metadata
    return ids[0]


def _log_line(server, request_id: str, timeout: float = 10.0) -> str:
    def find():
        return next((line for line in server.mp.output().splitlines()
                     if f"request_id={request_id}" in line), None)
    return wait_for(find, f"a log line with request_id={request_id}", timeout)


def test_access_log_line_carries_the_request_id_the_client_saw(server, client):
    name = ss.unique_name("metrics/logged")
    client.put_object(name, b"0123456789", partition_size=4)
    request_id = _call_with_request_id(client, name)
    line = _log_line(server, request_id)
    assert "level=info" in line and 'msg=call ' in line, line
    assert f"method=/{OBJECTS}/GetObject" in line and "status=OK" in line, line
    assert re.search(r"principal=\"?CN=sluice-client", line), line
    assert re.search(r"bytes_in=\d+", line) and re.search(r"bytes_out=[1-9]\d*", line), line
    assert re.search(r"duration_ms=[0-9.]+", line), line

    failed_id = _call_with_request_id(client, name + "-absent", Code.NOT_FOUND)
    failed = _log_line(server, failed_id)
    assert "status=NOT_FOUND" in failed and "level=info" in failed, failed


def test_requests_refused_by_the_transport_get_an_access_log_line(server):
    """HTTP 405 and 415 refusals never reach the dispatcher; the transport logs them itself,
    with the path asked for, no principal and no request id."""
    import raw_h2
    path = f"/{OBJECTS}/GetObject-{os.urandom(4).hex()}"
    with raw_h2.RawH2("127.0.0.1", server.port, server.certs, "client").connect() as raw:
        for sid in (raw.unary(path, b"", content_type="text/plain"), raw.unary(path, b"", method="GET")):
            raw.wait(sid, timeout=ss.TIMEOUT)

    def lines():
        found = [line for line in server.mp.output().splitlines() if f"method={path}" in line]
        return found if len(found) == 2 else None
    logged = wait_for(lines, f"two access log lines for {path}")
    for line in logged:
        assert "level=info" in line and 'msg="call failed"' in line, line
        assert "status=INTERNAL" in line and "request_id=-" in line and "principal=-" in line, line
    assert any("POST" in line for line in logged) and any("application/grpc" in line for line in logged), logged


def test_access_log_off_leaves_successful_calls_out(quiet_server):
    client = quiet_server.client()
    name = ss.unique_name("metrics/quiet")
    client.put_object(name, b"0123456789", partition_size=4)
    quiet_id = _call_with_request_id(client, name)
    # A failed call is still logged; once its line is there, the earlier call's would be too.
    failed_id = _call_with_request_id(client, name + "-absent", Code.NOT_FOUND)
    _log_line(quiet_server, failed_id)
    assert f"request_id={quiet_id}" not in quiet_server.mp.output()
    assert "sluiced metrics at" not in quiet_server.mp.output()


@pytest.mark.parametrize("flag, value, message", [
    ("--metrics-listen", "no-port", "--metrics-listen must be HOST:PORT"),
    ("--access-log", "sometimes", "--access-log must be on or off"),
    ("--max-unread-request-bytes", "0", "--max-unread-request-bytes must be 1 to 1152921504606846976 bytes, got 0"),
])
def test_bad_flag_values_stop_startup_with_a_message(sluiced_command, flag, value, message):
    proc = subprocess.run([*sluiced_command, "--h2c", flag, value], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode != 0
    assert message in proc.stdout.decode("utf-8", "replace")
