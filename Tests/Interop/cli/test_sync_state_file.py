"""`sluice sync` and a state file it cannot use: it stops, names the file and changes
nothing, rather than take every path as never synced (which would undo every deletion made
since the last sync, on both sides, without a word)."""

from __future__ import annotations

import json
import os

import cli_support as cs
import sync_support as sy


def test_a_damaged_state_file_stops_the_sync_and_changes_nothing(cli, tmp_path):
    a, state = str(tmp_path / "a"), str(tmp_path / "state.json")
    prefix = cs.unique("sync-state") + "/"
    for i in range(6):
        sy.write(a, f"f{i}", f"file {i}".encode())
    cli.ok("sync", a, prefix, "--state-file", state)
    os.unlink(os.path.join(a, "f0"))
    cli.ok("rm", prefix + "f1")
    with open(state, "rb") as f:
        whole = f.read()
    saved = json.loads(whole)
    saved["format"] = 99
    damaged = {"truncated": whole[: len(whole) // 2], "garbage": b"\x00garbage", "empty": b"",
               "newer": json.dumps(saved).encode()}
    for what, data in damaged.items():
        with open(state, "wb") as f:
            f.write(data)
        r = cli.run("sync", a, prefix, "--state-file", state).expect(cs.EXIT_NOT_FOUND)
        assert state in r.stderr and "cannot be used" in r.stderr, (what, r.explain())
        assert not os.path.exists(os.path.join(a, "f0")), (what, r.explain())
        assert prefix + "f1" not in cli.ok("ls", prefix).out.split(), (what, r.explain())
    # Moved aside, the next sync starts afresh (and, as the message says, brings both back).
    os.rename(state, state + ".damaged")
    cli.ok("sync", a, prefix, "--state-file", state)
    assert os.path.exists(os.path.join(a, "f0")) and prefix + "f1" in cli.ok("ls", prefix).out.split()
