"""SIGKILL in the middle of work, restart on the same database and blobs: nothing
acknowledged is lost, nothing half-made is visible, and every open session resumes.

The kill moments come from a seeded RNG (printed, and settable with
SLUICE_CRASH_SEED) and from progress counters, not from sleeps, so that each round
really kills with calls in flight."""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field

import grpc
import pytest

import interop_support as sup
import storage_support as ss
from storage_support import Code, KIB, sha

ROUNDS = 3


@pytest.fixture
def rng():
    seed = int(os.environ.get("SLUICE_CRASH_SEED", "0") or 0) or int.from_bytes(os.urandom(4), "big")
    print(f"SLUICE_CRASH_SEED={seed}")
    return random.Random(seed)


@dataclass
class Tracked:
    """What the client knows about one session."""
    name: str
    data: bytes
    partition_size: int
    acked: set = field(default_factory=set)          # partitions answered OK
    commit_state: str = "none"                         # none | in-flight | ok
    committed_version: int = 0

    @property
    def parts(self) -> list[bytes]:
        return ss.split(self.data, self.partition_size)


class Crew:
    """Worker threads that stop at the kill; errors before the kill are failures."""

    def __init__(self):
        self.killed = threading.Event()
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def run(self, n: int, body) -> None:
        def wrapper(k):
            try:
                body(k)
            except (grpc.RpcError, ValueError) as e:   # ValueError: channel closed under us
                if not self.killed.is_set():
                    with self.lock:
                        self.unexpected.append(f"worker {k}: {e!r}")
            except Exception as e:  # noqa: BLE001 — reported below
                with self.lock:
                    self.unexpected.append(f"worker {k}: {e!r}")

        self.threads = [threading.Thread(target=wrapper, args=(k,), daemon=True) for k in range(n)]
        for t in self.threads:
            t.start()

    def kill(self, server) -> None:
        self.killed.set()
        server.mp.proc.kill()        # SIGKILL, the process only
        assert server.mp.wait(10) is not None

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=30)
        alive = [t for t in self.threads if t.is_alive()]
        assert not alive, f"{len(alive)} worker(s) still running 30 s after the kill"
        assert not self.unexpected, "calls failed before the kill:\n" + "\n".join(self.unexpected)


def _check_open_session(c: ss.StorageClient, sid: str, t: Tracked) -> list[int]:
    """The session survived: OPEN, every acknowledged partition stored, the counts
    consistent. Returns the missing partitions."""
    got = c.get_session(sid)
    assert got.state == ss.OPEN, f"session {sid} is {got.state}"
    stored = list(got.stored_partitions)
    assert t.acked <= set(stored), \
        f"acknowledged partitions {sorted(t.acked - set(stored))} of {t.name} were lost"
    assert got.stored_bytes == sum(len(t.parts[i]) for i in stored)
    assert list(got.partition_sha256) == [sha(p) for p in t.parts]
    return [i for i in range(len(t.parts)) if i not in stored]


def _restart(server) -> ss.StorageClient:
    server.close_clients()
    server.start()
    return server.client()


def test_kill_during_parallel_uploads(storage, rng):
    srv = storage.server(label="sluiced-crash-uploads")
    psize = 128 * KIB
    tracked: dict[str, Tracked] = {}

    for rnd in range(ROUNDS):
        c = srv.client()
        new = []
        for k in range(4):
            data = ss.random_bytes(16 * psize - rng.randrange(psize))
            t = Tracked(f"crash/uploads/{rnd}/{k}", data, psize)
            s = c.create_session(t.name, data, psize)
            tracked[s.session_id] = t
            new.append(s.session_id)
        tasks = [(sid, i) for sid in new for i in range(len(tracked[sid].parts))]
        total = len(tasks)
        rng.shuffle(tasks)
        threshold = rng.randint(len(tasks) // 10, len(tasks) * 6 // 10)
        done = [0]
        crew = Crew()
        lock = threading.Lock()

        def worker(_k):
            while not crew.killed.is_set():
                with lock:
                    if not tasks:
                        return
                    sid, i = tasks.pop()
                t = tracked[sid]
                ack = c.upload_partition(sid, i, t.parts[i])
                assert ack.partition_index == i and ack.sha256 == sha(t.parts[i])
                with lock:
                    t.acked.add(i)
                    done[0] += 1

        crew.run(6, worker)
        sup.wait_until(lambda: done[0] >= threshold or crew.unexpected, 60, interval=0.002,
                       what=f"{threshold} partitions acknowledged")
        time.sleep(rng.uniform(0, 0.02))    # vary the phase of the calls in flight
        crew.kill(srv)
        crew.join()
        assert tasks, "every upload finished before the kill; nothing was in flight"

        c = _restart(srv)
        stored_unacked = 0
        for sid, t in tracked.items():
            missing = _check_open_session(c, sid, t)
            stored_unacked += len(t.parts) - len(missing) - len(t.acked)
        print(f"uploads round {rnd}: killed after {done[0]} of {total} "
              f"partitions acknowledged (+{stored_unacked} stored but unacknowledged)")

    # Everything resumes: remaining partitions upload, every commit succeeds.
    c = srv.client()
    for sid, t in tracked.items():
        missing = _check_open_session(c, sid, t)
        if t.acked:
            resend = min(t.acked)
            assert c.upload_partition(sid, resend, t.parts[resend]).already_stored is True
        c.upload_partitions(sid, t.data, psize, indices=missing, parallel=4)
        info = c.commit(sid)
        ss.assert_object_describes(info, t.name, t.data, psize, version=1)
        ss.assert_same_bytes(c.read(t.name), t.data, t.name)


HOT_NAMES = ["crash/hot/0", "crash/hot/1", "crash/hot/2"]


def test_kill_during_commits(storage, rng):
    srv = storage.server(label="sluiced-crash-commits")
    psize = 4 * KIB
    tracked: dict[str, Tracked] = {}              # session id → what was sent
    counter = [0]

    for rnd in range(ROUNDS):
        c = srv.client()
        commits_ok = [0]
        threshold = rng.randint(3, 30)
        crew = Crew()
        lock = threading.Lock()

        def worker(k):
            wrng = random.Random(rng.random() + k)
            while not crew.killed.is_set():
                with lock:
                    counter[0] += 1
                    n = counter[0]
                name = wrng.choice(HOT_NAMES) if wrng.random() < 0.5 else f"crash/commit/{n}"
                data = ss.random_bytes(wrng.randint(1, 3 * psize))
                s = c.create_session(name, data, psize)
                t = Tracked(name, data, psize)
                with lock:
                    tracked[s.session_id] = t
                for i, part in enumerate(t.parts):
                    c.upload_partition(s.session_id, i, part)
                    t.acked.add(i)
                t.commit_state = "in-flight"
                info = c.commit(s.session_id)
                assert info.sha256 == sha(data) and info.size == len(data)
                t.commit_state, t.committed_version = "ok", info.version
                with lock:
                    commits_ok[0] += 1

        crew.run(3, worker)
        sup.wait_until(lambda: commits_ok[0] >= threshold or crew.unexpected, 60,
                       interval=0.002, what=f"{threshold} commits")
        time.sleep(rng.uniform(0, 0.01))
        crew.kill(srv)
        crew.join()

        c = _restart(srv)
        _verify_commits(c, tracked)

    # Every session left open (its commit or upload cut by a kill) resumes and commits.
    c = srv.client()
    for sid, t in tracked.items():
        if t.commit_state == "ok":
            continue
        missing = _check_open_session(c, sid, t)
        c.upload_partitions(sid, t.data, psize, indices=missing)
        info = c.commit(sid)
        t.commit_state, t.committed_version = "ok", info.version
        ss.assert_same_bytes(c.read(t.name, version=info.version), t.data)
    _verify_commits(c, tracked)


def _verify_commits(c: ss.StorageClient, tracked: dict[str, Tracked]) -> None:
    """After a restart: every acknowledged commit reads back; a commit that was in
    flight either happened completely (its session says COMMITTED and the version
    holds its bytes) or not at all (session OPEN, resumable); every version and
    every listed object is one of those, byte for byte."""
    outcomes = []
    for sid, t in tracked.items():
        if t.commit_state != "in-flight":
            continue
        got = c.get_session(sid)
        if got.state == ss.COMMITTED:
            t.commit_state, t.committed_version = "ok", got.committed_version
            outcomes.append("committed")
        else:
            _check_open_session(c, sid, t)
            t.commit_state = "none"
            outcomes.append("not committed")
    print(f"commits: {sum(t.commit_state == 'ok' for t in tracked.values())} committed; "
          f"commits cut by the kill: {outcomes}")
    for sid, t in tracked.items():
        if t.commit_state == "none":
            _check_open_session(c, sid, t)      # creation acknowledged: still there
    for s in c.all_sessions(open_only=True):
        if s.session_id not in tracked:         # created, but the answer was cut by a kill
            assert list(s.stored_partitions) == [] and s.stored_bytes == 0, s

    versions: dict[str, dict[int, bytes]] = {}
    for t in tracked.values():
        if t.commit_state == "ok":
            assert t.committed_version not in versions.setdefault(t.name, {}), \
                f"two commits of {t.name} answered version {t.committed_version}"
            versions[t.name][t.committed_version] = t.data

    for name, by_version in versions.items():
        listed = [v.version for v in c.list_versions(name, page_size=1000).versions]
        assert listed == sorted(by_version, reverse=True), \
            f"{name}: versions {listed}, but commits answered {sorted(by_version, reverse=True)}"
        assert listed == list(range(len(listed), 0, -1)), f"{name}: versions not 1..n: {listed}"
        for version, data in by_version.items():
            # A resumed session's partitions go up in parallel: its whole hash settles after the commit.
            info = ss.settled(c, name, version)
            assert (info.size, info.sha256) == (len(data), sha(data)), f"{name} v{version}"
            ss.assert_same_bytes(c.read(name, version=version), data, f"{name} v{version}")
        current = c.get_object(name)
        assert current.version == max(by_version) and current.is_current

    objects, _ = c.list_all()
    listed_names = {o.name for o in objects}
    assert listed_names == set(versions), (
        f"objects without an acknowledged commit: {sorted(listed_names - set(versions))}; "
        f"acknowledged objects missing: {sorted(set(versions) - listed_names)}")
    for o in objects:
        want = versions[o.name][max(versions[o.name])]
        assert (o.size, o.sha256) == (len(want), sha(want)), o.name


def test_a_sigterm_while_sluiced_starts_drains_instead_of_killing_it(storage):
    """A supervisor may stop sluiced the moment it starts (a rollout undone, a test). A SIGTERM
    that arrives while it connects to its database and opens its store, before it listens,
    must not kill it outright: it finishes starting, drains at once and exits 0."""
    import signal
    import subprocess
    srv = storage.server(label="sluiced-early-sigterm", start=False)
    proc = subprocess.Popen(srv.argv(sup.free_port()), env=srv.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()     # the first log line: signals are caught by then
        assert "open file limit" in first, first
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{first}{err[-3000:]}"
    assert "listening on" in out and "draining" in err and "signal=SIGTERM" in err, err[-3000:]
