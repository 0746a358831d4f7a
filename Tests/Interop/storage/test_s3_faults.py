"""sluiced on the S3 blob store, with S3 misbehaving: a fault-injecting proxy
(s3_support.FaultProxy) sits between sluiced and moto and answers a share of the
requests with 503 SlowDown or 500 InternalError, drops the connection after the
request headers, in the middle of the request body or of the response body, or
stalls. sluiced must absorb all of it: every upload (gRPC and `sluice` CLI)
completes, every read is byte-identical, nothing acknowledged is missing from
the bucket, and a partition is acknowledged only after S3 confirmed it. Errors
retrying cannot fix are reported precisely and promptly: a missing or refused
bucket stops start-up, a refusal is INTERNAL naming S3's code, exhausted retries
are UNAVAILABLE with nothing acknowledged.

The fault sequence is seeded: the seed is printed, SLUICE_S3_FAULT_SEED replays it.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import threading
import time

import pytest

import interop_support as sup
import s3_support as s3
import storage_support as ss
from servers import require_binary
from storage_support import Code, KIB, MIB, expect_error, sha

CLI_DIR = os.path.join(ss.INTEROP_DIR, "cli")
if CLI_DIR not in sys.path:
    sys.path.insert(0, CLI_DIR)
import cli_support as cs  # noqa: E402

# What these tests are about exists only on S3.
pytestmark = ss.only_blob_stores("s3")

RATE = 0.3                  # share of S3 requests that fault
MAX_CONSECUTIVE = 3         # faults in a row for one request, < --s3-attempts (8)
BACKOFF_MS = 5              # keep the retries fast


def _faulty_server(storage, proxy, prefix=None, **options):
    """A sluiced whose S3 traffic goes through the proxy (inspection goes to moto)."""
    store = storage.blob_store(**({} if prefix is None else {"prefix": prefix}))
    options.setdefault("s3_backoff_ms", BACKOFF_MS)
    return storage.server(blobs=store.via(proxy.endpoint), **options)


def _blob_key_hex(record: s3.RequestRecord) -> str:
    return record.path.rsplit("/", 1)[-1]


def _spool_leftovers(srv) -> list[str]:
    left = []
    for dirpath, _, files in os.walk(srv.spool_dir):
        left += [os.path.join(dirpath, f) for f in files]
    return left


def _confirmed_at(proxy: s3.FaultProxy, blobs: s3.S3Blobs) -> dict[str, float]:
    """For each blob (HEX64), the earliest moment S3 had confirmed it in an answer
    that then reached sluiced whole: the proxy had read moto's 200 to a PUT (or a
    HEAD, for a blob found there) of a request it forwarded without a fault. (The
    moment the proxy read it from moto, not when it passed it on: sluiced may see
    the answer before the proxy's thread takes its next timestamp.)"""
    out: dict[str, float] = {}
    for r in proxy.requests():
        if r.method in ("PUT", "HEAD") and r.path.startswith(blobs.request_prefix) \
                and r.fault is None and r.status == 200 and r.finished is not None:
            hx = _blob_key_hex(r)
            out[hx] = min(out.get(hx, r.answered), r.answered)
    return out


def _history(proxy: s3.FaultProxy, hx: str, since: float) -> str:
    return "\n".join(f"  {r.method} fault={r.fault} status={r.status} "
                     f"started={r.started - since:.4f} answered="
                     f"{None if r.answered is None else round(r.answered - since, 4)} "
                     f"finished={None if r.finished is None else round(r.finished - since, 4)} "
                     f"{r.note}"
                     for r in proxy.requests() if r.path.endswith("/" + hx))


# --------------------------------------------------------------------------
# Transient faults: everything gets through
# --------------------------------------------------------------------------

def test_parallel_grpc_uploads_survive_s3_faults(storage, proxy):
    proxy.configure(rate=RATE, mix={k: 1 for k in s3.DEFAULT_MIX},
                    max_consecutive=MAX_CONSECUTIVE, cover_all=True)
    srv = _faulty_server(storage, proxy)           # starts (HEAD bucket) through faults too
    psize = 64 * KIB
    objects = {f"faults/grpc/{k}": ss.random_bytes(12 * psize - k * 1000 - 1) for k in range(8)}
    acked: dict[str, float] = {}                  # partition sha hex → when the ack arrived
    lock = threading.Lock()

    def upload(name: str) -> object:
        c = srv.client()
        data = objects[name]
        s = c.create_session(name, data, psize)
        parts = ss.split(data, psize)

        def one(i):
            ack = c.upload_partition(s.session_id, i, parts[i])
            now = time.monotonic()
            assert ack.partition_index == i and ack.sha256 == sha(parts[i])
            with lock:
                acked[ss.hexsha(parts[i])] = now

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, range(len(parts))))
        return c.commit(s.session_id)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        infos = dict(zip(objects, pool.map(upload, objects)))
    uploaded = time.monotonic()
    for name, info in infos.items():
        ss.assert_object_describes(info, name, objects[name], psize, version=1)
    after_uploads = proxy.injected()

    # Reads go through the faults too: whole, ranges, single partitions.
    c = srv.client()
    for name, data in objects.items():
        ss.assert_same_bytes(c.read(name), data, f"{name} read back")
        ss.assert_same_bytes(c.read(name, offset=psize - 7, length=2 * psize),
                             data[psize - 7:3 * psize - 7], f"{name} range")
        ss.assert_same_bytes(c.read_partition(name, 11), ss.split(data, psize)[11])
    print(f"uploads {uploaded - started:.1f}s, reads {time.monotonic() - uploaded:.1f}s; "
          f"{proxy.summary()}")

    injected = proxy.injected()
    missing = [k for k in s3.DEFAULT_MIX if not injected.get(k)]
    assert not missing, f"faults never injected: {missing}; {proxy.summary()}"
    assert sum(after_uploads.values()) >= 20, f"few faults during the uploads: {after_uploads}"
    gets = proxy.requests("GET")
    assert any(r.fault for r in gets), "no read met a fault"
    assert not proxy.upstream_errors, proxy.upstream_errors[:5]

    # Nothing acknowledged is missing, and nothing was acknowledged before S3 confirmed it.
    blobs = srv.blobs
    for name, data in objects.items():
        for i, part in enumerate(ss.split(data, psize)):
            assert blobs.copies(part) == 1, f"{name} partition {i}: not in the bucket once"
    confirmed = _confirmed_at(proxy, blobs)
    early = [hx for hx, t in acked.items() if hx not in confirmed or confirmed[hx] > t]
    assert not early, (
        f"{len(early)} partitions acknowledged before S3 confirmed them (no 200 to their "
        f"PUT/HEAD had reached sluiced); times relative to the test's start:\n" + "\n".join(
            f"{hx}: acknowledged at {acked[hx] - started:.4f}; S3 requests:\n"
            f"{_history(proxy, hx, started)}" for hx in early[:3]))
    assert blobs.layout_problems() == []
    assert s3.wire_contract_problems(proxy, blobs) == []
    assert _spool_leftovers(srv) == [], "spool files left after every upload was acknowledged"
    # Partitions of a few MiB, each transfer cut in the middle once (PUT bodies and
    # GET answers), then sent again: from the spool, and from where a read had got to.
    proxy.reset_counts()
    proxy.configure(rate=1.0, mix={"drop_body": 1, "drop_response": 1}, max_consecutive=1)
    big = ss.random_bytes(2 * 3 * MIB + 5)
    c.put_object("faults/grpc/big", big, partition_size=3 * MIB, parallel=3)
    ss.assert_same_bytes(c.read("faults/grpc/big"), big, "big object")
    assert set(proxy.injected()) == {"drop_body", "drop_response"}, proxy.summary()
    for part in ss.split(big, 3 * MIB):
        assert blobs.copies(part) == 1
    assert _spool_leftovers(srv) == []
    srv.assert_alive()


@pytest.fixture
def cli(sluice_binary, certs, tmp_path):
    runner = cs.CLI(sluice_binary, certs, str(tmp_path / "cli"))
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def sluice_binary() -> str:
    binary = require_binary("sluice")
    text = subprocess.run([binary, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=30).stdout.decode("utf-8", "replace")
    if "upload" not in text or "download" not in text:
        ss.unavailable(f"{binary} has no upload/download commands")
    return binary


def test_cli_upload_and_download_survive_s3_faults(storage, proxy, cli, tmp_path):
    """The real CLI, with its own retries off (--retries 0): sluiced alone absorbs the
    S3 faults, so the CLI never sees one."""
    proxy.configure(rate=RATE, mix=s3.DEFAULT_MIX, max_consecutive=MAX_CONSECUTIVE,
                    cover_all=True)
    srv = _faulty_server(storage, proxy)
    cli.address = srv.address
    files = {}
    for k, size in enumerate((3 * MIB + 12345, 700 * KIB, 1)):
        path = str(tmp_path / f"src-{k}")
        files[f"faults/cli/{k}"] = (path, cs.write_random_file(path, size))

    def upload(name):
        path, _ = files[name]
        return cli.run("upload", path, name, "--partition-size", "128KiB", "--parallel", "4",
                       "--retries", "0", "--json").expect(0)

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(upload, files))
    during_upload = proxy.injected_total()
    assert during_upload > 0, proxy.summary()

    for name, (path, digest) in files.items():
        out = str(tmp_path / (name.replace("/", "_") + ".out"))
        cli.run("download", name, out, "--parallel", "4", "--retries", "0").expect(0)
        assert cs.sha256_file(out) == digest, f"{name} downloaded wrong"
    assert proxy.injected_total() > during_upload, "no download met a fault"
    injected = proxy.injected()
    missing = [k for k in s3.DEFAULT_MIX if not injected.get(k)]
    assert not missing, f"faults never injected: {missing}; {proxy.summary()}"
    for name, (path, _) in files.items():
        with open(path, "rb") as f:
            for i, part in enumerate(ss.split(f.read(), 128 * KIB)):
                assert srv.blobs.copies(part) == 1, f"{name} partition {i} not in the bucket"
    assert s3.wire_contract_problems(proxy, srv.blobs) == []
    srv.assert_alive()


def test_stalled_requests_time_out_and_are_retried(storage, proxy):
    """S3 requests that get no answer (the proxy reads them and stays silent for
    30 s) are abandoned after --s3-timeout-seconds and sent again."""
    srv = _faulty_server(storage, proxy, s3_timeout_seconds=1)
    proxy.configure(rate=0.4, mix={"stall": 1}, methods={"PUT", "GET"}, max_consecutive=1,
                    stall_seconds=30)
    c = srv.client()
    psize = 64 * KIB
    data = ss.random_bytes(6 * psize)
    started = time.monotonic()
    c.put_object("faults/stall", data, partition_size=psize, parallel=6)
    ss.assert_same_bytes(c.read("faults/stall"), data)
    elapsed = time.monotonic() - started
    stalls = proxy.injected().get("stall", 0)
    assert stalls >= 1, proxy.summary()
    assert elapsed < 25, f"{stalls} stalls took {elapsed:.1f}s: not timed out after 1 s"
    for part in ss.split(data, psize):
        assert srv.blobs.copies(part) == 1


def test_slow_transfers_that_keep_moving_are_not_timed_out(storage, proxy):
    """--s3-timeout-seconds bounds a silence, not a transfer: a read whose answer
    drips in (8 KiB every 0.3 s, 1.8 s for the partition) finishes with a 1 s
    timeout, on its first attempt."""
    srv = _faulty_server(storage, proxy, s3_timeout_seconds=1)
    c = srv.client()
    data = ss.random_bytes(48 * KIB)
    c.put_object("faults/slow", data, partition_size=len(data))
    proxy.configure(rate=1.0, mix={"slow": 1}, methods={"GET"})
    proxy.slow_chunk, proxy.slow_interval = 8 * KIB, 0.3
    started = time.monotonic()
    ss.assert_same_bytes(c.read("faults/slow"), data)
    took = time.monotonic() - started
    gets = proxy.requests("GET", fault="slow")
    assert len(gets) == 1, f"the partition read once, without a retry: {proxy.summary()}"
    # The proxy notes the answer finished after its last send returns, which on a loaded
    # machine can be after sluiced has every byte and answered; an abandoned read never does.
    sup.wait_until(lambda: gets[0].finished is not None, timeout=10,
                   what="the proxy to pass on the whole slow answer (the read was abandoned)")
    assert 1.7 < took < 20, f"{took:.1f}s"


def test_a_read_whose_get_fails_after_its_last_byte_is_whole_and_undamaged(storage, proxy, postgres):
    """S3's answer carries every byte of the range, then fails (a Content-Length the body falls
    short of, the connection closed right after the last byte). Nothing is left to ask for:
    the read is whole and OK, with no second GET for an inverted range (whose 416 once ended
    the read DATA_LOSS and recorded the intact blob as damaged)."""
    srv = _faulty_server(storage, proxy)
    c = srv.client()
    data = ss.random_bytes(48 * KIB)
    c.put_object("faults/after-body", data, partition_size=len(data))
    since = time.monotonic()
    proxy.configure(rate=1.0, mix={"drop_after_body": 1}, methods={"GET"}, max_consecutive=None)
    ss.assert_same_bytes(c.read("faults/after-body"), data)
    gets = [g for g in proxy.requests("GET") if g.started >= since and g.path.endswith("/" + ss.hexsha(data))]
    assert gets and all(g.fault == "drop_after_body" for g in gets), proxy.summary()
    for g in gets:
        first, _, last = g.headers.get("range", "bytes=0-0")[len("bytes="):].partition("-")
        assert not last or int(first) <= int(last), f"a GET for an inverted range: {g.headers}"
    damaged = postgres.run("SELECT count(*) FROM damaged_blobs", url=srv.database_url).strip()
    assert damaged == "0", f"an intact blob was recorded damaged ({damaged} rows)"


def test_collector_under_faults(storage, proxy):
    """The collector's LIST and DELETE meet the same faults (a listing cut in the
    middle of its XML included): it reclaims what it should, eventually, and never
    what is referenced."""
    srv = _faulty_server(storage, proxy, blob_grace_period=1, collector_interval=1)
    c = srv.client()
    kept = ss.random_bytes(3 * 8 * KIB)
    c.put_object("faults/collector/kept", kept, partition_size=8 * KIB)
    doomed = ss.random_bytes(6 * 8 * KIB)
    s = c.create_session("faults/collector/aborted", doomed, 8 * KIB)
    c.upload_partitions(s.session_id, doomed, 8 * KIB)
    # Few requests here (a LIST a second, a DELETE a blob): a high rate makes faults sure.
    proxy.configure(rate=0.6, mix=s3.DEFAULT_MIX, methods={"GET", "DELETE"},
                    max_consecutive=2, cover_all=True)
    c.abort(s.session_id)
    sup.wait_until(lambda: all(srv.blobs.copies(p) == 0 for p in ss.split(doomed, 8 * KIB)),
                   30, interval=0.3, what="the aborted session's blobs to be reclaimed")
    listings = [r for r in proxy.requests("GET") if "list-type=2" in r.target]
    deletes = proxy.requests("DELETE")
    assert listings and deletes, proxy.summary()
    assert any(r.fault for r in listings + deletes), f"no LIST or DELETE met a fault: " \
        f"{proxy.summary()}"
    for i, part in enumerate(ss.split(kept, 8 * KIB)):
        assert srv.blobs.copies(part) == 1, f"referenced partition {i} was deleted"
    ss.assert_same_bytes(c.read("faults/collector/kept"), kept)
    srv.assert_alive()


# --------------------------------------------------------------------------
# Errors retrying cannot fix, and retries running out
# --------------------------------------------------------------------------

def _run_to_exit(srv, timeout: float = 60) -> tuple[int, str, float]:
    """Runs the server's command line to its end (it must not start)."""
    started = time.monotonic()
    proc = subprocess.run(srv.argv(sup.free_port()), env=srv.env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), time.monotonic() - started


def test_missing_bucket_stops_startup(storage, moto_server):
    absent = s3.random_bucket_name("absent")
    srv = storage.server(blobs=s3.S3Blobs(moto_server, absent, "data"), start=False,
                         s3_backoff_ms=BACKOFF_MS)
    rc, out, took = _run_to_exit(srv)
    assert rc != 0 and "sluiced listening on" not in out, f"exit {rc}:\n{out[-3000:]}"
    assert absent in out, f"the message does not name the bucket {absent}:\n{out[-3000:]}"
    assert took < 30, f"took {took:.0f}s to give up"
    assert not moto_server.bucket_exists(absent), "sluiced created the bucket"


def test_unreachable_endpoint_stops_startup(storage, moto_server):
    """Nothing listens at the endpoint: start-up gives up after its attempts, in
    bounded time, saying where it tried."""
    port = sup.free_port()
    store = storage.blob_store().via(f"http://127.0.0.1:{port}")
    srv = storage.server(blobs=store, start=False, s3_backoff_ms=BACKOFF_MS, s3_attempts=3)
    rc, out, took = _run_to_exit(srv)
    assert rc != 0 and "sluiced listening on" not in out, f"exit {rc}:\n{out[-3000:]}"
    assert str(port) in out, f"the message does not say where it tried:\n{out[-3000:]}"
    assert took < 30, f"took {took:.0f}s to give up"


def test_refused_bucket_stops_startup(storage, proxy):
    proxy.configure(rate=1.0, mix={"forbidden": 1})
    store = storage.blob_store().via(proxy.endpoint)
    srv = storage.server(blobs=store, start=False, s3_backoff_ms=BACKOFF_MS)
    rc, out, took = _run_to_exit(srv)
    assert rc != 0 and "sluiced listening on" not in out, f"exit {rc}:\n{out[-3000:]}"
    assert store.bucket in out and ("AccessDenied" in out or "403" in out), \
        f"the message names neither the bucket nor the refusal:\n{out[-3000:]}"
    assert took < 30, f"took {took:.0f}s to give up"
    assert proxy.injected()["forbidden"] <= 2, f"a refusal was retried: {proxy.summary()}"


def _names_nothing_of_the_store(details: str, partition: bytes) -> None:
    """A client's message names neither the bucket key of a blob (prefix, scope, digest) nor
    the S3 library's own text: those are the operator's, in the log."""
    for secret in (ss.hexsha(partition), "blobs/", "curl", "127.0.0.1"):
        assert secret not in details, f"{secret!r} in {details!r}"


def test_exhausted_retries_are_unavailable_and_nothing_is_acknowledged(storage, proxy):
    attempts = 3
    srv = _faulty_server(storage, proxy, s3_attempts=attempts)
    c = srv.client()
    data = ss.random_bytes(2 * 64 * KIB)
    parts = ss.split(data, 64 * KIB)
    s = c.create_session("faults/unavailable", data, 64 * KIB)

    proxy.configure(rate=1.0, mix={"slowdown": 1})           # every request: 503 SlowDown
    started = time.monotonic()
    err = expect_error(Code.UNAVAILABLE, c.upload_partition, s.session_id, 0, parts[0])
    took = time.monotonic() - started
    assert took < 20, f"UNAVAILABLE after {took:.1f}s"
    assert "SlowDown" in err.details() or "503" in err.details(), err.details()
    _names_nothing_of_the_store(err.details(), parts[0])
    puts = [r for r in proxy.requests("PUT") if _blob_key_hex(r) == ss.hexsha(parts[0])]
    assert len(puts) == attempts, \
        f"--s3-attempts {attempts}, but the blob PUT was sent {len(puts)} times"
    got = c.get_session(s.session_id)
    assert got.state == ss.OPEN and list(got.stored_partitions) == [] and got.stored_bytes == 0
    assert srv.blobs.copies(parts[0]) == 0
    expect_error(Code.FAILED_PRECONDITION, c.commit, s.session_id)

    # S3 recovers: the same session goes on.
    proxy.configure(rate=0.0)
    c.upload_partitions(s.session_id, data, 64 * KIB)
    ss.assert_object_describes(c.commit(s.session_id), "faults/unavailable", data, 64 * KIB)
    ss.assert_same_bytes(c.read("faults/unavailable"), data)
    assert _spool_leftovers(srv) == []


def test_refusals_are_internal_and_name_the_s3_code(storage, proxy):
    srv = _faulty_server(storage, proxy)
    c = srv.client()
    kept = ss.random_bytes(3000)
    c.put_object("faults/kept", kept, partition_size=1000)
    data = ss.random_bytes(5000)
    s = c.create_session("faults/refused", data, 5000)

    proxy.configure(rate=1.0, mix={"forbidden": 1})           # every request: 403 AccessDenied
    started = time.monotonic()
    err = expect_error(Code.INTERNAL, c.upload_partition, s.session_id, 0, data)
    assert "AccessDenied" in err.details(), err.details()
    err = expect_error(Code.INTERNAL, c.read, "faults/kept")
    assert "AccessDenied" in err.details(), err.details()
    _names_nothing_of_the_store(err.details(), kept[:1000])
    assert time.monotonic() - started < 10, "refusals were retried"
    puts = [r for r in proxy.requests("PUT") if _blob_key_hex(r) == ss.hexsha(data)]
    assert len(puts) == 1, f"a refused PUT was sent {len(puts)} times"
    got = c.get_session(s.session_id)
    assert list(got.stored_partitions) == [] and srv.blobs.copies(data) == 0

    proxy.configure(rate=0.0)
    c.upload_partition(s.session_id, 0, data)
    c.commit(s.session_id)
    ss.assert_same_bytes(c.read("faults/refused"), data)
    ss.assert_same_bytes(c.read("faults/kept"), kept)


@pytest.mark.parametrize("first_attempt", ["late", "late_after_504"])
def test_a_delete_retried_after_an_attempt_in_doubt_fences_its_bytes(storage, proxy, first_attempt):
    """A DELETE attempt's fate is unknown (it timed out; or a gateway answered 504) and its
    retry succeeds; the first is still on its way and lands later. Until then, an upload of
    the same bytes must not be acknowledged: it would be that late DELETE's victim. Before,
    DeleteObject forgot the blob at once, the re-upload was acknowledged and committed, and the
    late DELETE took its bytes."""
    srv = _faulty_server(storage, proxy, s3_timeout_seconds=1)
    c = srv.client()
    data = ss.random_bytes(64 * KIB)
    c.put_object("faults/late-first", data, partition_size=len(data))
    proxy.late_seconds = 4
    proxy.configure(rate=1.0, mix={first_attempt: 1}, methods={"DELETE"}, max_consecutive=1)
    started = time.monotonic()
    c.delete_object("faults/late-first")
    assert len(proxy.requests("DELETE", fault=first_attempt)) == 1, proxy.summary()

    s = c.create_session("faults/late-again", data, len(data))
    err = expect_error(Code.ABORTED, c.upload_partition, s.session_id, 0, data)
    assert "being deleted" in err.details(), err.details()
    # The late DELETE lands; the bytes were never acknowledged again, so nothing is lost.
    sup.wait_until(lambda: srv.blobs.copies(data) == 0 and time.monotonic() - started > 5, timeout=30,
                   what="the late DELETE to land")
    assert c.get_session(s.session_id).stored_partitions == [], "a fenced upload was acknowledged"


def test_huge_error_documents_are_not_held_in_memory(storage, proxy):
    """An endpoint that answers failures with 12 MiB error documents: 16 reads at once, each
    retried to the end, must not hold those bodies (each was once kept whole, up to 16 MiB,
    and parsed; 48 such reads took sluiced to 2.5 GiB)."""
    srv = _faulty_server(storage, proxy)
    c = srv.client()
    data = ss.random_bytes(4 * KIB)
    c.put_object("faults/huge-error", data, partition_size=len(data))
    ss.assert_same_bytes(c.read("faults/huge-error"), data)
    before = ss.rss_mib(srv.mp.proc.pid)
    proxy.configure(rate=1.0, mix={"huge_error": 1}, methods={"GET"}, max_consecutive=None)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        failures = list(pool.map(lambda _: expect_error(Code.UNAVAILABLE, c.read, "faults/huge-error"), range(16)))
    assert all("InternalError" in f.details() or "unavailable" in f.details() for f in failures)
    grown = ss.rss_mib(srv.mp.proc.pid) - before
    assert grown < 64, f"sluiced grew by {grown:.0f} MiB while failing reads got 12 MiB error documents"
    proxy.configure(rate=0.0)
    ss.assert_same_bytes(c.read("faults/huge-error"), data)


def test_a_listing_that_never_ends_does_not_spin_the_collector(storage, proxy):
    """An S3-compatible store that answers every ListObjectsV2 page as truncated, with the same
    continuation token: the collector's pass gives up on it (and tries again next interval)
    rather than listing in a loop without a pause (211 LISTs in 15 s, before)."""
    srv = _faulty_server(storage, proxy, collector_interval=1, blob_grace_period=1)
    c = srv.client()
    c.put_object("faults/listed", ss.random_bytes(1000), partition_size=1000)
    since = time.monotonic()
    proxy.configure(rate=1.0, mix={"stuck_listing": 1}, methods={"GET"}, max_consecutive=None)
    time.sleep(5)
    lists = [r for r in proxy.requests("GET") if "list-type=2" in r.target and r.started >= since]
    assert 1 <= len(lists) <= 30, f"{len(lists)} LIST requests in 5 s"
    proxy.configure(rate=0.0)
    assert c.read("faults/listed")


def test_a_bucket_deleted_under_sluiced_is_refused_not_counted_as_damage(storage, moto_server, postgres):
    """A 404 naming NoSuchBucket says the bucket is gone, not one blob: a read is INTERNAL
    naming the code (for the operator to fix), never DATA_LOSS, and no blob is recorded
    damaged (each read once added one, and told the user to upload the bytes again)."""
    srv = storage.server(blobs=storage.blob_store(), s3_backoff_ms=BACKOFF_MS)
    c = srv.client()
    kept = ss.random_bytes(3000)
    c.put_object("gone/kept", kept, partition_size=1000)
    moto_server.delete_bucket(srv.blobs.bucket)
    err = expect_error(Code.INTERNAL, c.read, "gone/kept")
    assert "NoSuchBucket" in err.details(), err.details()
    damaged = postgres.run("SELECT count(*) FROM damaged_blobs", url=srv.database_url).strip()
    assert damaged == "0", f"the missing bucket was recorded as {damaged} damaged blobs"


def test_a_skewed_clock_is_refused_at_once_naming_the_code(storage, proxy):
    """RequestTimeTooSkewed is not retried: every attempt is signed with the same clock."""
    srv = _faulty_server(storage, proxy)
    c = srv.client()
    data = ss.random_bytes(5000)
    s = c.create_session("faults/skewed", data, 5000)
    proxy.configure(rate=1.0, mix={"skewed": 1}, methods={"PUT"})
    err = expect_error(Code.INTERNAL, c.upload_partition, s.session_id, 0, data)
    assert "RequestTimeTooSkewed" in err.details(), err.details()
    puts = [r for r in proxy.requests("PUT") if _blob_key_hex(r) == ss.hexsha(data)]
    assert len(puts) == 1, f"a skewed PUT was sent {len(puts)} times"


# --------------------------------------------------------------------------
# Slow readers and the transfer limit
# --------------------------------------------------------------------------

def test_a_reader_that_stops_frees_its_transfer_and_resumes(storage, proxy):
    """A client that stops reading for longer than --s3-timeout-seconds: sluiced's GET
    steps away (freeing its transfer slot, so that with --s3-max-transfers 1 an upload
    still gets through meanwhile) and, when the client reads again, resumes at the next
    byte with a new ranged GET; the client gets every byte once, in order."""
    srv = _faulty_server(storage, proxy, s3_timeout_seconds=1, s3_max_transfers=1)
    reader, writer = srv.client(), srv.client()
    data = ss.random_bytes(48 * MIB)
    reader.put_object("slow/big", data, partition_size=48 * MIB)
    partition_key = ss.hexsha(data)
    # The commit re-reads the partition to check it: only the GETs of the read count here.
    before = len([r for r in proxy.requests("GET") if r.path.endswith(partition_key)])
    stream = reader.objects.ReadObject(ss.obj_pb.ReadObjectRequest(name="slow/big"), timeout=120)
    received = [next(stream).data]
    time.sleep(4)   # far past the 1 s stall timeout, with windows and the pipe full
    other = ss.random_bytes(100 * KIB)
    writer.put_object("slow/meanwhile", other, partition_size=100 * KIB)   # the slot is free
    received += [m.data for m in stream]
    ss.assert_same_bytes(b"".join(received), data)
    ss.assert_same_bytes(writer.read("slow/meanwhile"), other)
    gets = [r for r in proxy.requests("GET") if r.path.endswith(partition_key)][before:]
    starts = [int(r.headers["range"].split("=")[1].split("-")[0]) for r in gets]
    assert len(gets) >= 2 and starts[0] == 0 and all(0 < s < len(data) for s in starts[1:]), \
        f"expected a first GET from 0 and a resumed one mid-partition, got ranges {starts}"


def test_calls_that_give_up_let_go_of_their_hung_s3_transfers(storage, proxy):
    """--s3-max-transfers 2 with S3 hanging: two reads cancelled by their client, then two
    uploads ended by their deadline, each while its GET or PUT hangs. Their transfers end and
    give their slots back within about a second, not at --s3-timeout-seconds (30 s here), so
    the next caller's upload gets through at once; the abandoned uploads acknowledged nothing."""
    srv = _faulty_server(storage, proxy, s3_timeout_seconds=30, s3_max_transfers=2)
    c = srv.client()
    stored = {f"hang/read{i}": ss.random_bytes(256 * KIB) for i in range(2)}
    for name, data in stored.items():
        c.put_object(name, data, partition_size=256 * KIB)

    def put(name, data, timeout):
        return c.objects.PutObject(ss.obj_pb.PutObjectRequest(name=name, data=data, sha256=sha(data)),
                                   timeout=timeout)

    def prompt_put(what):
        proxy.configure(rate=0.0)
        data = ss.random_bytes(100 * KIB)
        started = time.monotonic()
        put(f"hang/after-{what}", data, 60)
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"an upload after {what} waited {elapsed:.1f}s for a transfer slot"
        ss.assert_same_bytes(c.read(f"hang/after-{what}"), data)

    proxy.configure(rate=1.0, mix={"stall": 1}, methods={"GET"}, max_consecutive=None, stall_seconds=60)
    streams = [c.objects.ReadObject(ss.obj_pb.ReadObjectRequest(name=n), timeout=60) for n in stored]
    time.sleep(1.5)
    assert proxy.injected().get("stall", 0) >= 2, proxy.summary()
    for stream in streams:
        stream.cancel()
    prompt_put("cancelled reads")

    proxy.configure(rate=1.0, mix={"stall": 1}, methods={"PUT"}, max_consecutive=None, stall_seconds=60)
    abandoned = {f"hang/put{i}": ss.random_bytes(100 * KIB) for i in range(2)}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        errors = list(pool.map(
            lambda item: expect_error(Code.DEADLINE_EXCEEDED, put, item[0], item[1], 1.5), abandoned.items()))
    assert len(errors) == 2
    prompt_put("uploads past their deadline")
    for name in abandoned:
        expect_error(Code.NOT_FOUND, c.objects.GetObject, ss.obj_pb.GetObjectRequest(name=name), timeout=ss.TIMEOUT)


def test_more_transfers_than_the_limit_wait_their_turn(storage, proxy):
    """--s3-max-transfers 2 with 8 partitions uploaded and read in parallel: everything
    completes over at most 2 connections to S3 (each transfer runs on a handle of its own,
    and handles are kept and reused only up to the limit)."""
    srv = _faulty_server(storage, proxy, s3_max_transfers=2)
    c = srv.client()
    psize = 256 * KIB
    data = ss.random_bytes(8 * psize)
    c.put_object("limit/parallel", data, partition_size=psize, parallel=8)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        copies = list(pool.map(lambda _: c.read("limit/parallel"), range(4)))
    for copy in copies:
        ss.assert_same_bytes(copy, data)
    blob_puts = [r for r in proxy.requests("PUT") if "/blobs/" in r.target]   # not the store's mark
    assert len(blob_puts) == 8 and len(proxy.requests("GET")) >= 32, proxy.summary()
    assert proxy.connections <= 2, f"{proxy.connections} connections with --s3-max-transfers 2"
