"""Holding an object's row in sluiced's database, so that tests can line up calls that race
for it: every commit of a version and every delete of the object locks that row, so each
waits (in arrival order) until the holder lets go, well within sluiced's 10 s lock timeout."""

from __future__ import annotations

import subprocess
import time

from sluice.v1 import upload_sessions_pb2 as us_pb

EDIT = b"the other device's edit"


class HeldObjectRow:
    """A psql session holding the row of an object FOR UPDATE: every commit of a version
    of that object waits until release()."""

    def __init__(self, postgres, url: str, name: str):
        self.proc = subprocess.Popen(
            [postgres.psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write(f"BEGIN;\nSELECT 'held' FROM objects WHERE name = '{name}' FOR UPDATE;\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        assert line == "held", f"psql did not take the row lock: {line!r} {self.proc.stderr.read()}"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("COMMIT;\n")
            self.proc.stdin.close()
            self.proc.wait(30)


def lock_waiters(postgres, url: str) -> int:
    return int(postgres.run("SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
                            url=url).strip())


def wait_for_waiters(postgres, url: str, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_waiters(postgres, url) >= count:
            return True
        time.sleep(0.05)
    return False


def delete_behind_a_commit(client, postgres, url: str, name: str, request, timeout: float):
    """Makes version 1 of `name`, then lines up another device's commit of version 2 (EDIT)
    and the DeleteObject `request`, planned while version 1 is still current as far as any look
    can tell, so that the commit gets the object row first and the delete waits behind it.
    Returns the delete's future, once the commit made version 2."""
    client.put_object(name, b"one", partition_size=1024)
    session = client.create_session(name, EDIT, 1024)
    client.upload_partitions(session.session_id, EDIT, 1024)

    held = HeldObjectRow(postgres, url, name)
    try:
        commit = client.sessions.CommitSession.future(
            us_pb.CommitSessionRequest(session_id=session.session_id), timeout=timeout)
        assert wait_for_waiters(postgres, url, 1, 10), "the commit never waited for the row"
        assert client.get_object(name).version == 1
        deletion = client.objects.DeleteObject.future(request, timeout=timeout)
        assert wait_for_waiters(postgres, url, 2, 10), "the delete never waited for the row"
    finally:
        held.release()
    assert commit.result().object.version == 2
    return deletion
