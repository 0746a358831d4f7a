"""Fixtures for the storage suite: sluiced with storage on, each with its own fresh
PostgreSQL database and its own blobs directory.

Environment (beside the suite's SLUICE_BIN_DIR, SLUICE_CERTS_DIR, SLUICE_REQUIRE_BINARIES):
  SLUICE_TEST_DATABASE_URL  libpq URL of a running PostgreSQL the tests may create
                            databases in; when unset, the project's throwaway cluster is
                            started with scripts/postgres.sh start and its URL used.

  SLUICE_STORAGE_REFERENCE  "1": run reference_storage.py (Python, SQLite) instead of
                            sluiced, to check the tests themselves.

A sluiced without storage (no --database flag), no PostgreSQL, or no psql makes every
test here skip — or fail, when SLUICE_REQUIRE_BINARIES=1.
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

    def create_database(self) -> tuple[str, str]:
        name = f"sluice_t_{os.urandom(8).hex()}"
        self.run(f"CREATE DATABASE {name}")
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
def sluiced_command() -> list[str]:
    """How to run sluiced: the binary, if it has storage (a --database flag); or,
    with SLUICE_STORAGE_REFERENCE=1, the Python reference implementation (which
    checks the tests, not the product)."""
    if os.environ.get("SLUICE_STORAGE_REFERENCE", "") == "1":
        return [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "reference_storage.py")]
    binary = require_binary("sluiced")
    try:
        proc = subprocess.run([binary, "--help"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"{binary} --help failed: {e}", pytrace=False)
    text = proc.stdout.decode("utf-8", "replace")
    if "--database" not in text:
        ss.unavailable(f"{binary} has no storage yet (no --database in its --help)")
    return [binary]


class StorageServer:
    """One sluiced process with storage; restartable on the same database and blobs."""

    def __init__(self, command: list[str], certs: sup.Certs, workdir: str, database_url: str,
                 blobs_dir: str, options: dict, require_client_cert: bool = True,
                 label: str = "sluiced"):
        self.command = list(command)
        self.certs = certs
        self.workdir = workdir
        self.database_url = database_url
        self.blobs_dir = blobs_dir
        self.options = dict(options)
        self.require_client_cert = require_client_cert
        self.label = label
        self.port: Optional[int] = None
        self.mp: Optional[sup.ManagedProcess] = None
        self.history: list[sup.ManagedProcess] = []   # every process, restarts included
        self._clients: list[ss.StorageClient] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self, port: int) -> list[str]:
        argv = [*self.command, "--listen", f"127.0.0.1:{port}", "--cert", self.certs.server_cert,
                "--key", self.certs.server_key, "--client-ca", self.certs.ca]
        if self.require_client_cert:
            argv.append("--require-client-cert")
        argv += ["--database", self.database_url, "--blobs", "file://" + self.blobs_dir]
        for key, value in sorted(self.options.items()):
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return argv

    def start(self) -> "StorageServer":
        assert self.mp is None or not self.mp.alive(), "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICED_")}
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
    """Makes databases, blobs directories and servers; tears all of them down."""

    def __init__(self, postgres: Postgres, command: list[str], certs: sup.Certs, workdir: str):
        self.postgres = postgres
        self.command = command
        self.certs = certs
        self.workdir = workdir
        self.servers: list[StorageServer] = []
        self.databases: list[str] = []

    def database(self) -> str:
        name, url = self.postgres.create_database()
        self.databases.append(name)
        return url

    def blobs_dir(self) -> str:
        path = os.path.join(self.workdir, f"blobs-{os.urandom(4).hex()}")
        os.makedirs(path)
        return path

    def server(self, *, database_url: Optional[str] = None, blobs_dir: Optional[str] = None,
               require_client_cert: bool = True, start: bool = True,
               label: Optional[str] = None, **options) -> StorageServer:
        """A sluiced with its own fresh database and blobs directory unless given
        ones (to share them with another server). `options` become flags:
        session_lifetime=2 → --session-lifetime 2."""
        srv = StorageServer(
            self.command, self.certs, self.workdir,
            database_url or self.database(), blobs_dir or self.blobs_dir(), options,
            require_client_cert=require_client_cert,
            label=label or f"sluiced{len(self.servers)}")
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
        return crashed


def _factory(postgres, sluiced_command, certs, tmp_path_factory, name):
    return StorageFactory(postgres, sluiced_command, certs, str(tmp_path_factory.mktemp(name)))


def _finish(factory: StorageFactory) -> None:
    crashed = factory.close()
    if crashed:
        pytest.fail("sluiced exited on its own:\n" + "\n".join(
            f"{s.mp.argv} -> {s.mp.proc.returncode}\n{s.mp.tail(3000)}" for s in crashed),
            pytrace=False)


@pytest.fixture
def storage(postgres, sluiced_command, certs, tmp_path_factory):
    """A StorageFactory whose servers and databases live for one test."""
    factory = _factory(postgres, sluiced_command, certs, tmp_path_factory, "storage")
    yield factory
    _finish(factory)


@pytest.fixture(scope="module")
def module_storage(postgres, sluiced_command, certs, tmp_path_factory):
    """A StorageFactory whose servers and databases live for one test module."""
    factory = _factory(postgres, sluiced_command, certs, tmp_path_factory, "storage-mod")
    yield factory
    _finish(factory)


@pytest.fixture(scope="module")
def server(module_storage) -> StorageServer:
    """The module's default sluiced (own database and blobs, default limits)."""
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
