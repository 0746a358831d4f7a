"""Local files an upload cannot send as they are, refused alike by sluice-c and the Swift CLI:

- a file whose size stat cannot report (a /proc or /sys file: stat says 0 or 4096 bytes,
  whatever it holds) is refused before anything is sent, exit 2, saying so; it does not go up
  empty, nor fail as a file that changed;
- a file that gets shorter while it is sent has changed: exit 5, DATA_LOSS, nothing committed
  (the Swift CLI's integrity failure), not an UNKNOWN error with exit 1."""

from __future__ import annotations

import os
import time

import pytest

import c_support as cs
import cli_support
import storage_support as ss
from servers import require_binary

MIB = 1024 * 1024


def _a_sysfs_file() -> str:
    for path in ("/sys/kernel/mm/transparent_hugepage/enabled", "/sys/devices/system/cpu/online",
                 "/sys/kernel/profiling", "/sys/power/state"):
        try:
            with open(path, "rb") as f:
                if f.read(1):
                    return path
        except OSError:
            continue
    pytest.skip("no readable /sys file here")


@pytest.mark.parametrize("source", ["/proc/self/status", "sysfs"])
def test_a_file_that_reports_no_size_is_refused_by_both_clients(sluice_c, swift_cli, source):
    path = _a_sysfs_file() if source == "sysfs" else source
    name = ss.unique_name("c-nosize")
    r = sluice_c.run("upload", path, name)
    cs.assert_error(r, cs.EXIT_USAGE, "INVALID_ARGUMENT")
    assert "reports no size" in r.stderr and "changed while" not in r.stderr, r.explain()
    s = swift_cli.run("upload", path, name + "-swift")
    assert s.rc == cs.EXIT_USAGE and "reports no size" in s.stderr, s.explain()
    cs.assert_error(sluice_c.run("download", name, os.path.join(sluice_c.state_dir, "out")),
                    cs.EXIT_NOT_FOUND, "NOT_FOUND")
    assert swift_cli.run("stat", name + "-swift").rc == cs.EXIT_NOT_FOUND


@pytest.fixture(scope="module")
def paced(module_storage):
    """Uploads paced to 8 MiB/s, so that a file can be changed while it is sent."""
    return module_storage.server(label="sluiced-c-paced", rate_bytes_in=8 * MIB)


def test_a_file_that_gets_shorter_while_it_is_sent_is_an_integrity_failure(c_binaries, certs, paced, tmp_path):
    c = cs.CClient(c_binaries[0], certs, str(tmp_path), paced.address)
    src = str(tmp_path / "shrinking")
    cs.write_random(src, 48 * MIB)
    name = ss.unique_name("c-shrinking")
    # One 1 MiB partition at a time, each read only when the one before is stored: 6 s at the
    # server's pace, so the later partitions are read after the change.
    proc = c.start("upload", src, name, "--partition-size", "1MiB", "--parallel", "1")
    time.sleep(1.5)
    assert proc.poll() is None, "the upload was over before the file could be changed"
    os.truncate(src, 1 * MIB)
    _, err = proc.communicate(timeout=120)
    result = cs.Result(proc.args, proc.returncode, "", err.decode("utf-8", "replace"), 0.0)
    cs.assert_error(result, cs.EXIT_INTEGRITY, "DATA_LOSS")
    assert f"{src} changed while it was being read" in result.stderr, result.explain()
    cs.assert_error(c.run("download", name, str(tmp_path / "out")), cs.EXIT_NOT_FOUND, "NOT_FOUND")
