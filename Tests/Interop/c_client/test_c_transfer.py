"""sluice-c moves bytes that the Swift `sluice` CLI and grpcio read back identically, and
reads what they wrote; an upload killed mid-way resumes its session and sends only the
partitions the server lacks."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time

import c_support as cs
import cli_support
import storage_support as ss
from read_proxy import proxy_factory  # noqa: F401 (a fixture)

MIB = cs.MIB
RESUME_SIZE = 256 * MIB        # the size; about 20 s on a busy 2-core machine
RESUME_PARTITION = 4 * MIB


def test_c_upload_reads_back_through_swift_cli_and_grpcio(sluice_c, swift_cli, server, tmp_path):
    src = str(tmp_path / "src")
    data = cs.write_random(src, 5 * MIB + 12345)
    name = ss.unique_name("c-up") + "/file.bin"
    r = sluice_c.ok("upload", src, name, "--partition-size", "1MiB", "--parallel", "3")
    assert "sent 6 of 6 partitions" in r.stdout, r.explain()

    swift_copy = str(tmp_path / "swift-copy")
    swift_cli.ok("download", name, swift_copy)
    ss.assert_same_bytes(cs.read(swift_copy), data, "the Swift CLI's download")

    client = server.client()
    ss.assert_same_bytes(client.read(name), data, "grpcio's ReadObject")
    info = client.get_object(name)
    assert info.partition_size == MIB and info.partition_count == 6
    assert info.sha256 == ss.sha(data)

    folder = name.split("/")[0] + "/"
    assert sluice_c.ok("ls").stdout.splitlines().count(folder) == 1
    assert sluice_c.ok("ls", "-r", folder).stdout.split() == [name]


def test_c_download_of_what_swift_cli_and_grpcio_uploaded(sluice_c, swift_cli, server, tmp_path):
    src = str(tmp_path / "src")
    data = cs.write_random(src, 3 * MIB + 7)
    by_swift = ss.unique_name("swift-up")
    swift_cli.ok("upload", src, by_swift, "--partition-size", "1MiB")
    out = str(tmp_path / "from-swift")
    r = sluice_c.ok("download", by_swift, out)
    assert "4 partitions verified" in r.stdout, r.explain()
    ss.assert_same_bytes(cs.read(out), data, "sluice-c's download of the Swift CLI's upload")

    by_grpcio = ss.unique_name("grpcio-up")
    grpc_data = os.urandom(2 * MIB + 99)
    server.client().put_object(by_grpcio, grpc_data, partition_size=512 * 1024)
    out2 = str(tmp_path / "from-grpcio")
    sluice_c.ok("download", by_grpcio, out2, "--parallel", "2")
    ss.assert_same_bytes(cs.read(out2), grpc_data, "sluice-c's download of grpcio's upload")
    assert not [f for f in os.listdir(tmp_path) if ".sluice-c-" in f], "a temporary file is left"


def test_c_download_reads_small_partitions_in_runs(sluice_c, proxy_factory, server, tmp_path):
    """Consecutive small partitions come in one ReadPartition call (partition_count), cut into
    as many runs as --parallel keeps busy; from a server older than the field, which sends one
    partition per call, sluice-c asks for the rest call after call. The file is the same."""
    data = os.urandom(20 * 64 * 1024 - 1000)
    name = ss.unique_name("c-runs")
    server.client().put_object(name, data, partition_size=64 * 1024)
    address, proxy = proxy_factory(older=False)
    out = str(tmp_path / "out")
    r = sluice_c.ok("download", name, out, "--parallel", "2", address=address)
    assert "20 partitions verified" in r.stdout, r.explain()
    assert sorted(proxy.reads) == [(0, 10), (10, 10)], proxy.reads
    ss.assert_same_bytes(cs.read(out), data, "sluice-c's download in runs")

    address, older = proxy_factory(older=True)
    out2 = str(tmp_path / "out2")
    sluice_c.ok("download", name, out2, "--parallel", "1", address=address)
    assert older.reads == [(i, 20 - i) for i in range(19)] + [(19, 0)], older.reads
    ss.assert_same_bytes(cs.read(out2), data, "sluice-c's download from an older server")


def test_empty_file_round_trip(sluice_c, tmp_path):
    src = str(tmp_path / "empty")
    open(src, "wb").close()
    name = ss.unique_name("c-empty")
    sluice_c.ok("upload", src, name)
    out = str(tmp_path / "out")
    sluice_c.ok("download", name, out)
    assert cs.read(out) == b""


def _open_session(client, name: str):
    for s in client.all_sessions(open_only=True):
        if s.object_name == name:
            return s
    return None


def test_killed_upload_resumes_sending_only_what_is_missing(sluice_c, server, tmp_path):
    """A 256 MiB upload killed (SIGKILL) once a few partitions are stored (asked through
    grpcio), then the same command again: it finds its session (journal, then GetSession),
    says how many partitions were stored, sends exactly the others, and the object reads
    back identical."""
    src = str(tmp_path / "big")
    digest = cli_support.write_random_file(src, RESUME_SIZE)
    count = RESUME_SIZE // RESUME_PARTITION
    flags = ["--partition-size", str(RESUME_PARTITION), "--parallel", "4"]
    name = ss.unique_name("c-resume")
    client = server.client()
    proc = sluice_c.start("upload", src, name, *flags)
    seen = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            seen = _open_session(client, name)
            if seen is not None and len(seen.stored_partitions) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, (
            f"the upload ended (exit {proc.returncode}) before it could be killed:\n"
            f"{proc.communicate()[1].decode()}")
        assert seen is not None and len(seen.stored_partitions) >= 4, "no partition stored in 120 s"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    stored_after_kill = len(client.get_session(seen.session_id).stored_partitions)
    assert stored_after_kill < count, "everything was stored before the kill"

    r = sluice_c.run("upload", src, name, *flags, timeout=300).expect(cs.EXIT_OK)
    m = re.search(rf"resuming session (\w+): (\d+) of {count} partitions already stored", r.stdout)
    assert m, r.explain()
    assert m.group(1) == seen.session_id, "a new session instead of the interrupted one"
    already = int(m.group(2))
    assert already >= stored_after_kill, r.explain()
    sent = int(re.search(rf"sent (\d+) of {count} partitions", r.stdout).group(1))
    assert sent == count - already, f"sent {sent}, but {already} of {count} were stored\n{r.explain()}"
    read_back = hashlib.sha256()
    for message in client.objects.ReadObject(ss.obj_pb.ReadObjectRequest(name=name), timeout=300):
        read_back.update(message.data)
    assert read_back.hexdigest() == digest, "the resumed upload does not read back identical"
    assert client.get_object(name).version == 1
