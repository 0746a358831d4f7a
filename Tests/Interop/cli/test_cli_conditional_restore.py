"""`sluice restore --if-version N` (RestoreObjectVersion's if_current_version): the restore
happens only while N is the current version, so running the command again after its answer was
lost makes no second version."""

from __future__ import annotations

import cli_support as cs


def test_restore_if_version_restores_only_while_that_version_is_current(cli, tmp_path):
    path = str(tmp_path / "notes.txt")
    name = cs.unique("restore-if-version") + "/notes.txt"
    cs.upload_versions(cli, path, name, b"one", b"two")

    assert "as version 3" in cli.ok("restore", "--if-version", "2", name, "1").out
    again = cli.run("restore", "--if-version", "2", name, "1").expect(1)
    assert "is at version 3, not 2; nothing was restored" in again.stderr, again.explain()
    cli.run("restore", "--if-version", "0", name, "1").expect(2)
    assert "version: 3 (current)" in cli.ok("stat", name).out
