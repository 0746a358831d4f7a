"""The ASan/LSan/UBSan build of sluice-c (make c-client-asan) through a full upload and
download, and failures: any sanitizer report (a leak, a bad access, undefined behaviour)
fails the test (CClient(sanitized=True) checks every run). test_c_wire.py runs its cases
with this build too."""

from __future__ import annotations

import re
import signal

import pytest

import c_support as cs
import storage_support as ss


def test_upload_download_under_sanitizers(sluice_c_asan, server, tmp_path):
    src = str(tmp_path / "src")
    data = cs.write_random(src, 3 * cs.MIB + 5)
    name = ss.unique_name("c-asan") + "/f"
    runs = [
        sluice_c_asan.run("upload", src, name, "--partition-size", "512KiB", "--parallel", "3"),
        sluice_c_asan.run("upload", src, name + "2", "--partition-size", "512KiB"),
        sluice_c_asan.run("download", name, str(tmp_path / "out"), "--parallel", "4"),
        sluice_c_asan.run("ls", "-l", name.split("/")[0] + "/"),
        sluice_c_asan.run("health"),
    ]
    for r in runs:
        r.expect(cs.EXIT_OK)
    ss.assert_same_bytes(cs.read(str(tmp_path / "out")), data, "the ASan build's download")
    ss.assert_same_bytes(server.client().read(name), data, "the ASan build's upload")


def test_failures_under_sanitizers(sluice_c_asan, tmp_path):
    """Error paths free what they made too."""
    cases = [
        (sluice_c_asan.run("download", "no/such", str(tmp_path / "x")), cs.EXIT_NOT_FOUND),
        (sluice_c_asan.run("ls", who="other-client"), cs.EXIT_DENIED),
        (sluice_c_asan.run("ls", ca="other-ca.pem"), cs.EXIT_DENIED),
        (sluice_c_asan.run("upload", str(tmp_path / "absent"), "x"), cs.EXIT_NOT_FOUND),
        (sluice_c_asan.run("--parallel", "0", "ls"), cs.EXIT_USAGE),
    ]
    for r, rc in cases:
        r.expect(rc)


def test_interrupted_upload_resumes_under_sanitizers(sluice_c_asan, server, tmp_path):
    """SIGINT mid-upload: exit 130 with the resume hint, everything freed on the way out;
    the rerun resumes the session from the journal."""
    src = str(tmp_path / "src")
    data = cs.write_random(src, 12 * cs.MIB)
    name = ss.unique_name("c-asan-int")
    flags = ["--partition-size", "1MiB", "--parallel", "1"]
    proc = sluice_c_asan.start("upload", src, name, *flags)
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("partition "), line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    result = cs.Result(proc.args, proc.returncode, line + out.decode(), err.decode(), 0.0)
    cs.assert_sanitizer_clean(result)
    if proc.returncode == cs.EXIT_OK:
        pytest.skip("the upload finished before SIGINT reached it")
    assert proc.returncode == 130, result.explain()
    assert "interrupted; run the same command again to resume" in result.stderr

    r = sluice_c_asan.ok("upload", src, name, *flags)
    assert re.search(r"resuming session \w+: [1-9]\d* of 12 partitions already stored", r.stdout), r.explain()
    ss.assert_same_bytes(server.client().read(name), data, "the resumed upload")
