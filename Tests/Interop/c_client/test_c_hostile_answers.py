"""sluice-c meets answers no honest sluiced gives (odd_server.py, mode "handlers") as the Swift
CLI does, each with the plain and the ASan/UBSan build:

- a GetObject whose partition sizes would overflow a 64-bit sum (2^62 each) is refused as an
  inconsistent description, DATA_LOSS (exit 5), without a sanitizer report;
- a ListObjects that answers the same next_page_token again stops (exit 1) instead of paging
  for ever;
- an UploadPartition acknowledgement or a commit answer that does not describe the file sent
  is DATA_LOSS (exit 5), not a success;
- a name with NUL in it is printed whole, the NUL escaped as \\x00;
- a grpc-status that is no status code is UNKNOWN, naming the value;
- a message over the server's size limit, refused as sluiced refuses it (RESOURCE_EXHAUSTED
  with a negative `grpc-retry-pushback-ms`, no quota mark), is a fixed error: exit 1, not
  retried, not "could not be reached"."""

from __future__ import annotations

import hashlib

import pytest

import c_support as cs
import cli_support
import storage_support  # noqa: F401  (puts the generated sluice.v1 modules on sys.path)
from odd_server import OddServer, ok
from servers import require_binary
from sluice.v1 import object_info_pb2 as oi_pb
from sluice.v1 import objects_pb2 as obj_pb
from sluice.v1 import upload_sessions_pb2 as up_pb

OBJECTS = "/sluice.v1.ObjectService/"
SESSIONS = "/sluice.v1.UploadSessionService/"
PART = 1024 * 1024


@pytest.fixture(scope="module")
def odd(certs):
    server = OddServer(certs).start()
    server.mode = "handlers"
    yield server
    server.stop()


@pytest.fixture
def handlers(odd):
    odd.handlers.clear()
    return odd.handlers


@pytest.fixture(params=["plain", "asan"])
def client(request, c_binaries, certs, odd, tmp_path):
    asan = request.param == "asan"
    return cs.CClient(c_binaries[1 if asan else 0], certs, str(tmp_path), odd.address, sanitized=asan)


@pytest.fixture
def swift(certs, odd, tmp_path):
    runner = cli_support.CLI(require_binary("sluice"), certs, str(tmp_path / "swift-cli"), odd.address)
    yield runner
    runner.close()


def test_partition_sizes_that_overflow_are_an_inconsistent_description(client, swift, handlers, tmp_path):
    huge = 1 << 62
    info = oi_pb.ObjectInfo(name="big", version=1, size=-(1 << 63) + 0, partition_size=huge, partition_count=2)
    info.partitions.add(index=0, offset=0, size=huge, sha256=b"\0" * 32)
    info.partitions.add(index=1, offset=huge, size=huge, sha256=b"\0" * 32)
    handlers[OBJECTS + "GetObject"] = lambda _: ok(info)
    r = client.run("download", "big", str(tmp_path / "out"))
    cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert "described big version 1 inconsistently" in r.stderr, r.explain()
    assert not (tmp_path / "out").exists()
    assert swift.run("download", "big", str(tmp_path / "out2"), "--retries", "0").rc == cs.EXIT_INTEGRITY


def test_a_repeated_page_token_stops_the_listing(client, swift, handlers):
    pages = []

    def page(_):
        pages.append(1)
        answer = obj_pb.ListObjectsResponse(next_page_token="same")
        answer.objects.add(name=f"obj{len(pages)}", size=1, version=1)
        return ok(answer)

    handlers[OBJECTS + "ListObjects"] = page
    r = client.run("ls", timeout=30)
    cs.assert_error(r, 1, "INTERNAL")
    assert "would never end" in r.stderr and r.stdout == "obj1\nobj2\n", r.explain()
    pages.clear()
    s = swift.run("ls", "--retries", "0", timeout=30)
    assert s.rc == 1 and "would never end" in s.stderr and s.out == "obj1\nobj2\n", s.explain()


def upload_handlers(handlers, ack=None, commit=None):
    """A server that opens a session for whatever is declared, acknowledges partitions with
    ack(request) (default: what was sent) and commits with commit(declaration)."""
    declared = {}

    def create(requests):
        req = up_pb.CreateSessionRequest.FromString(requests[0])
        declared["req"] = req
        return ok(up_pb.UploadSession(
            session_id="s1", object_name=req.object_name, total_size=req.total_size,
            partition_size=req.partition_size, partition_sha256=req.partition_sha256,
            state=up_pb.UploadSession.OPEN))

    def part(requests):
        first = up_pb.UploadPartitionRequest.FromString(requests[0])
        data = b"".join(up_pb.UploadPartitionRequest.FromString(m).data for m in requests[1:])
        index = first.target.partition_index
        answer = up_pb.UploadPartitionResponse(
            partition_index=index, size=len(data), sha256=hashlib.sha256(data).digest())
        return ok(ack(answer) if ack else answer)

    def commit_session(_):
        req = declared["req"]
        info = oi_pb.ObjectInfo(
            name=req.object_name, version=1, size=req.total_size, sha256=req.object_sha256,
            sha256_state=oi_pb.SHA256_STATE_VERIFIED, partition_size=req.partition_size,
            composite_sha256=hashlib.sha256(b"".join(req.partition_sha256)).digest())
        return ok(up_pb.CommitSessionResponse(object=commit(info) if commit else info))

    handlers[SESSIONS + "CreateSession"] = create
    handlers[SESSIONS + "UploadPartition"] = part
    handlers[SESSIONS + "CommitSession"] = commit_session


def test_an_honest_upload_answer_is_a_success(client, handlers, tmp_path):
    upload_handlers(handlers)
    src = str(tmp_path / "src")
    cs.write_random(src, 2 * PART + 10)
    assert "sent 3 of 3 partitions" in client.ok("upload", src, "f", "--partition-size", "1MiB").stdout


def wrong_size(answer):
    answer.size = 1
    return answer


def wrong_hash(answer):
    answer.sha256 = b"\1" * 32
    return answer


def other_partition(answer):
    answer.partition_index += 1
    return answer


@pytest.mark.parametrize("ack", [wrong_size, wrong_hash, other_partition])
def test_a_wrong_acknowledgement_is_data_loss(client, handlers, tmp_path, ack):
    upload_handlers(handlers, ack=ack)
    src = str(tmp_path / "src")
    cs.write_random(src, 2 * PART + 10)
    r = client.run("upload", src, "f", "--partition-size", "1MiB")
    cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert "the server acknowledged partition" in r.stderr and "uploaded" not in r.stdout, r.explain()


def smaller(info):
    info.size -= 1
    return info


def other_hash(info):
    info.sha256 = b"\2" * 32
    return info


def other_composite(info):
    info.composite_sha256 = b"\3" * 32
    return info


def mismatch(info):
    info.sha256_state = oi_pb.SHA256_STATE_MISMATCH
    return info


def no_hash_yet_but_verified(info):
    info.sha256 = b""
    return info


@pytest.mark.parametrize("commit", [smaller, other_hash, other_composite, mismatch, no_hash_yet_but_verified])
def test_a_commit_answer_that_is_not_the_file_is_data_loss(client, handlers, tmp_path, commit):
    upload_handlers(handlers, commit=commit)
    src = str(tmp_path / "src")
    cs.write_random(src, PART + 10)
    r = client.run("upload", src, "f", "--partition-size", "1MiB")
    cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert "the commit made version 1" in r.stderr and "uploaded" not in r.stdout, r.explain()


def test_a_pending_hash_is_accepted(client, handlers, tmp_path):
    def pending(info):
        info.sha256 = b""
        info.sha256_state = oi_pb.SHA256_STATE_PENDING
        return info

    upload_handlers(handlers, commit=pending)
    src = str(tmp_path / "src")
    cs.write_random(src, PART + 10)
    client.ok("upload", src, "f", "--partition-size", "1MiB")


def test_a_name_with_nul_is_printed_escaped_as_the_swift_cli_does(client, swift, handlers):
    answer = obj_pb.ListObjectsResponse()
    answer.objects.add(name="a\x00hidden", size=1, version=1)
    answer.objects.add(name="ok", size=1, version=1)
    handlers[OBJECTS + "ListObjects"] = lambda _: ok(answer)
    assert client.ok("ls").stdout == "a\\x00hidden\nok\n"
    assert swift.run("ls", "--retries", "0").expect(0).out == "a\\x00hidden\nok\n"


def test_a_status_that_is_no_code_is_unknown_naming_it(client, swift, handlers):
    handlers[OBJECTS + "ListObjects"] = lambda _: ([], 9999, "odd")
    r = client.run("ls")
    cs.assert_error(r, 1, "UNKNOWN")
    assert "the server answered grpc-status 9999: odd" in r.stderr, r.explain()
    s = swift.run("ls", "--retries", "0")
    assert s.rc == 1 and "UNKNOWN: the server answered grpc-status 9999: odd" in s.stderr, s.explain()


def test_a_message_over_the_size_limit_is_fixed_in_both_clients(client, swift, handlers, tmp_path):
    upload_handlers(handlers)
    handlers[SESSIONS + "UploadPartition"] = lambda _: (
        [], 8, "message of 1048613 bytes exceeds the limit of 65536 bytes", [("grpc-retry-pushback-ms", "-1")])
    src = str(tmp_path / "src")
    cs.write_random(src, 2 * PART + 10)
    r = client.run("upload", src, "too/big", "--partition-size", "1MiB")
    cs.assert_error(r, 1, "RESOURCE_EXHAUSTED")
    assert "exceeds the limit" in r.stderr and "could not be reached" not in r.stderr, r.explain()
    # Not retried: eight retries with backoff would take far longer, and say they retry.
    s = swift.run("upload", src, "too/big", "--partition-size", "1MiB", "--retries", "8")
    assert s.rc == 1 and "exceeds the limit" in s.stderr and "could not be reached" not in s.stderr, s.explain()
    assert s.elapsed < 30, s.explain()
