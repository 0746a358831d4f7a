"""sluice-c's hand-made gRPC against a stock gRPC server (grpcio, in this process, mutual
TLS) that answers what sluiced rarely does: Trailers-Only errors whose grpc-message needs
percent-decoding, the out-of-space trailer, an expired grpc-timeout, an unimplemented
method, one response message spread over many DATA frames, and partition bytes that do not
match their SHA-256 (the client's own check, not the server's). Each runs with the plain
and the ASan/UBSan build."""

from __future__ import annotations

import hashlib
import time
from concurrent import futures

import grpc
import pytest

import c_support as cs
import storage_support as ss

MESSAGE = "naïve 100% sure: ✓\tdone"      # grpcio percent-encodes all but printable ASCII


class Fake(ss.obj_grpc.ObjectServiceServicer, ss.part_grpc.PartitionServiceServicer,
           ss.us_grpc.UploadSessionServiceServicer):
    """Objects whose partitions are `parts`, each described with `hashes` (default: right)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.hashes: list[bytes] = []
        self.extra = b""             # sent after a partition's bytes
        self.sleep = 0.0

    def GetObject(self, request, context):
        if request.name == "percent":
            context.abort(grpc.StatusCode.NOT_FOUND, MESSAGE)
        if request.name == "slow":
            time.sleep(self.sleep)
        info = ss.info_pb.ObjectInfo(name=request.name, version=3, size=sum(map(len, self.parts)),
                                     partition_count=len(self.parts))
        offset = 0
        for i, part in enumerate(self.parts):
            info.partitions.add(index=i, offset=offset, size=len(part),
                                sha256=self.hashes[i] if self.hashes else ss.sha(part))
            offset += len(part)
        return info

    def ReadPartition(self, request, context):
        assert request.version == 3, "the client must read the version GetObject described"
        yield ss.part_pb.ReadPartitionResponse(data=self.parts[request.partition_index] + self.extra)

    def CreateSession(self, request, context):
        if request.object_name == "full":
            context.set_trailing_metadata((("sluice-exhausted", "space"),))
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "no room")


@pytest.fixture(scope="module")
def fake(certs):
    servicer = Fake()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_send_message_length", 16 << 20)])
    ss.obj_grpc.add_ObjectServiceServicer_to_server(servicer, server)
    ss.part_grpc.add_PartitionServiceServicer_to_server(servicer, server)
    ss.us_grpc.add_UploadSessionServiceServicer_to_server(servicer, server)
    creds = grpc.ssl_server_credentials([(certs.read("server-key.pem"), certs.read("server.pem"))],
                                        root_certificates=certs.read("ca.pem"),
                                        require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture(params=["plain", "asan"])
def client(request, c_binaries, certs, fake, tmp_path):
    """Both builds: the ASan/UBSan one fails on any report, error paths included."""
    servicer, address = fake
    servicer.__init__()
    asan = request.param == "asan"
    return cs.CClient(c_binaries[1 if asan else 0], certs, str(tmp_path), address, sanitized=asan)


def test_trailers_only_error_with_percent_encoded_message(client, tmp_path):
    r = client.run("download", "percent", str(tmp_path / "out"))
    cs.assert_error(r, cs.EXIT_NOT_FOUND, "NOT_FOUND")
    # Percent-decoded (the tab arrives as %09), then printed with its control character
    # escaped as every message from the server is.
    assert "NOT_FOUND: " + MESSAGE.replace("\t", "\\t") + "\n" in r.stderr, r.explain()


def test_out_of_space_trailer_is_exit_7(client, tmp_path):
    src = str(tmp_path / "src")
    cs.write_random(src, 10)
    cs.assert_error(client.run("upload", src, "full"), 7, "RESOURCE_EXHAUSTED")
    cs.assert_error(client.run("upload", src, "busy"), cs.EXIT_TRANSIENT, "RESOURCE_EXHAUSTED")


def test_grpc_timeout_is_sent_and_honoured(client, fake, tmp_path):
    fake[0].sleep = 3.0
    r = client.run("download", "slow", str(tmp_path / "out"), "--deadline", "1")
    cs.assert_error(r, cs.EXIT_TRANSIENT, "DEADLINE_EXCEEDED")
    assert r.seconds < 3.0 + 2.0, r.explain()


def test_unimplemented_method_is_exit_1(client):
    cs.assert_error(client.run("health"), 1, "UNIMPLEMENTED")


def test_message_over_many_frames_and_partitions(client, fake, tmp_path):
    fake[0].parts = [b"x" * (3 * cs.MIB + 1), hashlib.sha256(b"y").digest() * 1000, b"z"]
    out = tmp_path / "out"
    r = client.ok("download", "big", str(out), "--parallel", "2")
    assert "3 partitions verified" in r.stdout
    assert cs.read(str(out)) == b"".join(fake[0].parts)


@pytest.mark.parametrize("damage", ["hash", "extra-bytes"])
def test_partition_that_does_not_verify_is_data_loss(client, fake, tmp_path, damage):
    fake[0].parts = [b"a" * 1000, b"b" * 1000]
    if damage == "hash":
        fake[0].hashes = [ss.sha(b"a" * 1000), ss.sha(b"c" * 1000)]
    else:
        fake[0].extra = b"!"
    target = tmp_path / "target"
    target.mkdir()
    r = client.run("download", "obj", str(target / "out"))
    cs.assert_error(r, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert not list(target.iterdir()), "a file was left behind"
