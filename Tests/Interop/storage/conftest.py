"""Fixtures for the storage suite: sluiced with storage on, each with its own fresh
PostgreSQL database and its own blobs directory.

Environment (beside the suite's SLUICE_BIN_DIR, SLUICE_CERTS_DIR, SLUICE_REQUIRE_BINARIES):
  SLUICE_TEST_DATABASE_URL  libpq URL of a running PostgreSQL the tests may create
                            databases in; when unset, the project's throwaway cluster is
                            started with scripts/postgres.sh start and its URL used.

  SLUICE_STORAGE_REFERENCE  "1": run reference_storage.py (Python, SQLite) instead of
                            sluiced, to check the tests themselves (disk store only: its
                            [s3] tests skip; add SLUICE_TEST_BLOB_STORES=disk).

  SLUICE_TEST_BLOB_STORES   which blob stores the suite runs against, comma-separated:
                            "disk,s3" (the default), "disk" or "s3".

Every test runs once per blob store (ids [disk] and [s3]): disk is --blobs file:///DIR,
s3 is --blobs s3://BUCKET/PREFIX?endpoint=... on one moto server per session (the
`moto_server` fixture of Tests/Interop/conftest.py), a fresh bucket per store, the test
credentials testing/testing in the environment. A test meaningful for one store only
says so with `ss.only_blob_stores("disk")` (a parametrize of the `blob_kind` fixture).
Tests look at stored bytes through the store's inspector (`server.blobs`: copies(),
inventory(), ...), never through paths, so they assert the same on both stores.

A sluiced without storage (no --database flag), no PostgreSQL, or no psql makes every
test here skip — or fail, when SLUICE_REQUIRE_BINARIES=1; so does, for the [s3] tests,
a sluiced without the S3 blob store (no --s3-attempts flag) or no moto.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from typing import Optional

import pytest

import interop_support as sup
from servers import require_binary
import storage_support as ss

S3_PREFIX = "data/sluice"            # where a store's blobs go in its bucket (tests use "" too)

REPO_ROOT = sup.REPO_ROOT
READY_LINE = "sluiced listening on"
START_TIMEOUT = 30.0


def pytest_configure(config):
    config.addinivalue_line("markers", "storage: needs a storage-capable sluiced and PostgreSQL")


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here + os.sep):
            item.add_marker(pytest.mark.swift)
            item.add_marker(pytest.mark.storage)


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

def _find_psql() -> Optional[str]:
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return candidates[-1] if candidates else None


def with_database(url: str, name: str) -> str:
    """The libpq URL or key=value string `url`, pointed at database `name`."""
    if "://" not in url:                                    # key=value form
        if re.search(r"(^|\s)dbname\s*=", url):
            return re.sub(r"(^|\s)dbname\s*=\s*('[^']*'|\S*)", rf"\1dbname={name}", url)
        return f"{url} dbname={name}"
    parts = urllib.parse.urlsplit(url)
    query = parts.query
    if re.search(r"(^|&)dbname=", query):                   # dbname= overrides the path
        query = re.sub(r"(^|&)dbname=[^&]*", rf"\1dbname={name}", query)
    # urlunsplit would drop the empty authority of postgresql:///db?host=/socket
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{query}" if query else "") + \
        (f"#{parts.fragment}" if parts.fragment else "")


class Postgres:
    """Creates and drops the per-fixture databases through the psql CLI."""

    def __init__(self, admin_url: str, psql: str):
        self.admin_url = admin_url
        self.psql = psql

    def run(self, sql: str, url: Optional[str] = None, timeout: float = 60) -> str:
        proc = subprocess.run(
            [self.psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url or self.admin_url,
             "-c", sql],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed ({proc.returncode}): "
                               f"{proc.stderr.decode('utf-8', 'replace')}")
        return proc.stdout.decode()

    def create_database(self, tablespace: Optional[str] = None) -> tuple[str, str]:
        name = f"sluice_t_{os.urandom(8).hex()}"
        self.run(f"CREATE DATABASE {name}" + (f" TABLESPACE {tablespace}" if tablespace else ""))
        return name, with_database(self.admin_url, name)

    def drop_database(self, name: str) -> None:
        try:
            self.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception as e:  # teardown must go on; the name is random, a leftover harms nobody
            print(f"warning: could not drop test database {name}: {e}")


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    psql = _find_psql()
    if psql is None:
        ss.unavailable("psql is not installed (apt-get install postgresql-client)")
    url = os.environ.get("SLUICE_TEST_DATABASE_URL", "").strip()
    if not url:
        script = os.path.join(REPO_ROOT, "scripts", "postgres.sh")
        try:
            start = subprocess.run([script, "start"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            ss.unavailable(f"scripts/postgres.sh start failed: {e}")
        if start.returncode != 0:
            ss.unavailable("SLUICE_TEST_DATABASE_URL is unset and scripts/postgres.sh start failed:\n"
                           + start.stdout.decode("utf-8", "replace")[-2000:])
        url = subprocess.run([script, "url"], stdout=subprocess.PIPE, check=True,
                             timeout=30).stdout.decode().strip()
    pg = Postgres(url, psql)
    try:
        pg.run("SELECT 1")
    except Exception as e:
        ss.unavailable(f"PostgreSQL at {url} does not answer: {e}")
    return pg


# --------------------------------------------------------------------------
# sluiced
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sluiced_help() -> tuple[list[str], str]:
    """(how to run sluiced, its --help text): the binary; or, with
    SLUICE_STORAGE_REFERENCE=1, the Python reference implementation (which checks
    the tests, not the product)."""
    if os.environ.get("SLUICE_STORAGE_REFERENCE", "") == "1":
        command = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                "reference_storage.py")]
    else:
        command = [require_binary("sluiced")]
    try:
        proc = subprocess.run([*command, "--help"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"{command} --help failed: {e}", pytrace=False)
    return command, proc.stdout.decode("utf-8", "replace")


@pytest.fixture(scope="session")
def sluiced_command(sluiced_help) -> list[str]:
    """How to run sluiced, if it has storage (a --database flag)."""
    command, text = sluiced_help
    if "--database" not in text:
        ss.unavailable(f"{command[-1]} has no storage yet (no --database in its --help)")
    return command


@pytest.fixture(scope="module", params=ss.blob_kinds())
def blob_kind(request, sluiced_help) -> str:
    """Which blob store this test's sluiced servers use: "disk" or "s3"."""
    kind = request.param
    if kind == "s3":
        command, text = sluiced_help
        if "--s3-attempts" not in text:
            ss.unavailable(f"{command[-1]} has no S3 blob store yet (no --s3-attempts in "
                           "its --help)")
        request.getfixturevalue("moto_server")      # skips (or fails) without moto
    return kind


class StorageServer:
    """One sluiced process with storage; restartable on the same database and blobs.
    `blobs` is its blob store's inspector (storage_support.DiskBlobs or
    s3_support.S3Blobs), which also says what --blobs is."""

    def __init__(self, command: list[str], certs: sup.Certs, workdir: str, database_url: str,
                 blobs, options: dict, require_client_cert: bool = True,
                 label: str = "sluiced", env: Optional[dict] = None):
        self.command = list(command)
        self.extra_env = dict(env or {})
        self.certs = certs
        self.workdir = workdir
        self.database_url = database_url
        self.blobs = blobs
        self.options = dict(options)
        if blobs.kind == "s3" and "s3_spool" not in self.options:
            # Its own spool (not a shared $TMPDIR), so a test can see what is left in it.
            self.options["s3_spool"] = os.path.join(workdir, f"{label}-spool")
            os.makedirs(self.options["s3_spool"], exist_ok=True)
        self.require_client_cert = require_client_cert
        self.label = label
        self.port: Optional[int] = None
        self.mp: Optional[sup.ManagedProcess] = None
        self.history: list[sup.ManagedProcess] = []   # every process, restarts included
        self._clients: list[ss.StorageClient] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def blobs_dir(self) -> str:
        """The blobs directory of a disk store (tests that need paths are disk-only)."""
        assert self.blobs.kind == "disk", f"a {self.blobs.kind} store has no blobs directory"
        return self.blobs.root

    @property
    def spool_dir(self) -> Optional[str]:
        return self.options.get("s3_spool")

    def argv(self, port: int) -> list[str]:
        argv = [*self.command, "--listen", f"127.0.0.1:{port}", "--cert", self.certs.server_cert,
                "--key", self.certs.server_key, "--client-ca", self.certs.ca]
        if self.require_client_cert:
            argv.append("--require-client-cert")
        argv += ["--database", self.database_url, "--blobs", self.blobs.url()]
        for key, value in sorted(self.options.items()):
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return argv

    def env(self) -> dict:
        """The environment it runs with: the caller's less SLUICED_*; for an s3 store
        no AWS_* of the caller but the store's credentials; then `extra_env` (a None
        value removes the variable)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
        if self.blobs.kind == "s3":
            env = self.blobs.env(env)
        for k, v in self.extra_env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def start(self) -> "StorageServer":
        assert self.mp is None or not self.mp.alive(), "already running"
        env = self.env()
        last: Optional[AssertionError] = None
        for _ in range(3):  # a free port can be taken between probe and bind
            port = sup.free_port()
            log = os.path.join(self.workdir, f"{self.label}-{len(self.history)}-{port}.log")
            mp = sup.ManagedProcess(self.argv(port), log, env=env).start()
            self.history.append(mp)
            try:
                self._wait_ready(mp, port)
            except AssertionError as e:
                mp.stop()
                last = e
                if "in use" in mp.output().lower():
                    continue
                raise
            self.mp, self.port = mp, port
            return self
        raise last  # type: ignore[misc]

    def _wait_ready(self, mp: sup.ManagedProcess, port: int) -> None:
        def ready():
            if not mp.alive():
                raise _Exited()
            return READY_LINE in mp.output() and sup.port_accepts("127.0.0.1", port)

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except _Exited:
                raise AssertionError(f"sluiced exited with {mp.proc.returncode} before it was "
                                     f"ready:\n{mp.tail()}")
            time.sleep(0.05)
        raise AssertionError(f"sluiced did not print {READY_LINE!r} within {START_TIMEOUT}s:\n"
                             f"{mp.tail()}")

    def assert_alive(self) -> None:
        if self.mp is None or not self.mp.alive():
            rc = None if self.mp is None else self.mp.proc.returncode
            raise AssertionError(f"sluiced is not running (exit {rc}):\n"
                                 f"{self.mp.tail() if self.mp else ''}")

    def client(self, who: Optional[str] = "client") -> ss.StorageClient:
        """A StorageClient on its own connection, as `who` (a certs/ stem; None = no
        client certificate). Closed when the server stops."""
        self.assert_alive()
        c = ss.StorageClient(sup.secure_channel(self.address, self.certs, who), label=str(who))
        self._clients.append(c)
        return c

    def close_clients(self) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup — a crash."""
        if self.mp is not None and self.mp.alive():
            self.mp.proc.send_signal(signal.SIGKILL)
            assert self.mp.wait(10) is not None, "sluiced survived SIGKILL for 10 s"
        self.close_clients()

    def stop(self) -> Optional[int]:
        self.close_clients()
        rc = None
        if self.mp is not None:
            rc = self.mp.stop(grace=15)
        return rc

    def restart(self) -> "StorageServer":
        self.stop()
        return self.start()

    def logs(self) -> list[tuple[str, str]]:
        return [(f"log of {self.label} ({mp.log_path})", mp.tail(6000)) for mp in self.history]


class _Exited(Exception):
    pass


class StorageFactory:
    """Makes databases, blob stores (of kind `blob_kind`) and servers; tears all of
    them down."""

    def __init__(self, postgres: Postgres, command: list[str], certs: sup.Certs, workdir: str,
                 blob_kind: str = "disk", moto=None):
        self.postgres = postgres
        self.command = command
        self.certs = certs
        self.workdir = workdir
        self.blob_kind = blob_kind
        self.moto = moto                       # s3_support.MotoServer, for s3 stores
        self.servers: list[StorageServer] = []
        self.databases: list[str] = []
        self.buckets: list[tuple] = []        # (MotoServer, bucket name)

    def database(self) -> str:
        name, url = self.postgres.create_database()
        self.databases.append(name)
        return url

    def blobs_dir(self) -> str:
        path = os.path.join(self.workdir, f"blobs-{os.urandom(4).hex()}")
        os.makedirs(path)
        return path

    def blob_store(self, kind: Optional[str] = None, prefix: str = S3_PREFIX, moto=None):
        """A fresh blob store of this factory's kind (or `kind`): a new directory, or a
        new bucket (blobs under `prefix`) in the session's moto (or in `moto`)."""
        kind = kind or self.blob_kind
        if kind == "disk":
            return ss.DiskBlobs(self.blobs_dir())
        import s3_support
        moto = moto or self.moto
        bucket = moto.create_bucket()
        self.buckets.append((moto, bucket))
        return s3_support.S3Blobs(moto, bucket, prefix)

    def server(self, *, database_url: Optional[str] = None, blobs=None,
               blobs_dir: Optional[str] = None, require_client_cert: bool = True,
               start: bool = True, label: Optional[str] = None, env: Optional[dict] = None,
               **options) -> StorageServer:
        """A sluiced with its own fresh database and blob store unless given ones (to
        share them with another server: `blobs` a store from blob_store(), or
        `blobs_dir` a disk directory). `options` become flags:
        session_lifetime=2 → --session-lifetime 2; `env` adds (None: removes)
        environment variables."""
        if blobs is None:
            blobs = ss.DiskBlobs(blobs_dir) if blobs_dir else self.blob_store()
        srv = StorageServer(
            self.command, self.certs, self.workdir,
            database_url or self.database(), blobs, options,
            require_client_cert=require_client_cert,
            label=label or f"sluiced{len(self.servers)}", env=env)
        self.servers.append(srv)
        return srv.start() if start else srv

    def logs(self) -> list[tuple[str, str]]:
        return [section for s in self.servers for section in s.logs()]

    def close(self) -> list[StorageServer]:
        """Stops everything; returns the servers that had died on their own."""
        crashed = [s for s in self.servers
                   if s.mp is not None and s.mp.proc.poll() is not None
                   and s.mp.proc.returncode not in (0, -signal.SIGKILL)]
        for s in self.servers:
            s.stop()
        for name in self.databases:
            self.postgres.drop_database(name)
        for moto, name in self.buckets:
            try:
                if moto.alive():
                    moto.delete_bucket(name)
            except Exception as e:  # teardown must go on; moto dies with the session
                print(f"warning: could not delete test bucket {name}: {e}")
        return crashed


def _factory(request, kind, postgres, sluiced_command, certs, tmp_path_factory, name):
    moto = request.getfixturevalue("moto_server") if kind == "s3" else None
    return StorageFactory(postgres, sluiced_command, certs,
                          str(tmp_path_factory.mktemp(f"{name}-{kind}")), kind, moto)


def _finish(factory: StorageFactory) -> None:
    crashed = factory.close()
    if crashed:
        pytest.fail("sluiced exited on its own:\n" + "\n".join(
            f"{s.mp.argv} -> {s.mp.proc.returncode}\n{s.mp.tail(3000)}" for s in crashed),
            pytrace=False)


@pytest.fixture
def storage(request, blob_kind, postgres, sluiced_command, certs, tmp_path_factory):
    """A StorageFactory whose servers, databases and blob stores live for one test."""
    factory = _factory(request, blob_kind, postgres, sluiced_command, certs, tmp_path_factory,
                       "storage")
    yield factory
    _finish(factory)


@pytest.fixture(scope="module")
def module_storage(request, blob_kind, postgres, sluiced_command, certs, tmp_path_factory):
    """A StorageFactory whose servers, databases and blob stores live for one test module."""
    factory = _factory(request, blob_kind, postgres, sluiced_command, certs, tmp_path_factory,
                       "storage-mod")
    yield factory
    _finish(factory)


@pytest.fixture(scope="module")
def server(module_storage) -> StorageServer:
    """The module's default sluiced (own database and blob store, default limits)."""
    return module_storage.server(label="sluiced-module")


@pytest.fixture
def client(server) -> ss.StorageClient:
    server.assert_alive()
    c = server.client("client")
    yield c
    c.close()


@pytest.fixture
def client2(server) -> ss.StorageClient:
    server.assert_alive()
    c = server.client("client2")
    yield c
    c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the logs of every sluiced the test could have used."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, (StorageServer, StorageFactory)):
            for title, text in value.logs():
                if title not in seen:        # a server is reachable through its factory too
                    seen.add(title)
                    rep.sections.append((title, text))
            servers = value.servers if isinstance(value, StorageFactory) else [value]
            for srv in servers:
                title = f"blob store of {srv.label}"
                if title not in seen:
                    seen.add(title)
                    rep.sections.append((title, srv.blobs.describe()))
        elif type(value).__name__ == "FaultProxy":
            rep.sections.append(("fault proxy", value.summary()))
        elif type(value).__name__ == "MotoServer":
            rep.sections.append(("log of moto", value.tail(3000)))
