"""Holding an object's row in sluiced's database, so that tests can line up calls that race
for it: every commit of a version and every delete of the object locks that row, so each
waits (in arrival order) until the holder lets go, well within sluiced's 10 s lock timeout."""

from __future__ import annotations

import subprocess
import time


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
