"""`sluice sync` and a file whose size stat does not report (a /proc file says 0 bytes, a /sys
file 4096, whatever they hold): the sync skips it with a note saying so, in the words
`sluice upload` refuses it with, once per run; it stores no empty object for it, and the rest
of the folder syncs.

Sync does not follow symbolic links, so the file is bind-mounted into the synced folder (root
only; the test skips otherwise) — a regular file there, as stat sees it."""

from __future__ import annotations

import os

import pytest

import cli_support as cs
import interop_support as sup
import sync_support as sy


def _a_sysfs_file() -> str:
    for path in ("/sys/kernel/mm/transparent_hugepage/enabled", "/sys/devices/system/cpu/online",
                 "/sys/kernel/profiling", "/sys/power/state"):
        try:
            with open(path, "rb") as f:
                if f.read(1) and os.stat(path).st_size > 0:
                    return path
        except OSError:
            continue
    pytest.skip("no readable /sys file here")


def bound(source: str, target: str):
    """`source` bind-mounted at `target` (a new empty file) until the block ends."""
    open(target, "wb").close()
    return sup.mounted(["--bind", source], target, "a file")


@pytest.mark.parametrize("source", ["/proc/version", "sysfs"])
def test_a_file_that_reports_no_size_is_skipped_with_a_note_and_not_stored(cli, tmp_path, source):
    source = _a_sysfs_file() if source == "sysfs" else source
    folder = str(tmp_path / "folder")
    prefix = cs.unique("sync-unsized") + "/"
    sy.write(folder, "note.txt", b"a regular file")
    with bound(source, os.path.join(folder, "kernel")):
        with open(os.path.join(folder, "kernel"), "rb") as f:
            assert f.read(), f"{source} bound into the folder reads as nothing"

        first = cli.run("sync", folder, prefix, "--json").expect(cs.EXIT_OK)
        skips = [e for e in first.events if e["event"] == "skip"]
        assert [e["path"] for e in skips] == ["kernel"], first.explain()
        assert "reports no size" in skips[0]["detail"] and "changed" not in skips[0]["detail"], skips
        done = first.event("summary")
        assert done["uploaded"] == 1 and done["skipped"] == 1 and done["failed"] == 0, done

        # Without --json the note goes to standard error, once; the next run still stores nothing.
        again = cli.run("sync", folder, prefix).expect(cs.EXIT_OK)
        assert again.stderr.count("reports no size") == 1, again.explain()
        assert "skip kernel: it reports no size (a /proc or /sys file?)" in again.stderr, again.explain()

    assert cli.ok("ls", prefix).out.split() == [prefix + "note.txt"]
    cli.run("stat", prefix + "kernel").expect(cs.EXIT_NOT_FOUND)
