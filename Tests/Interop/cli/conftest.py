"""Fixtures for the `sluice` CLI end-to-end suite: the real CLI against a
storage-capable sluiced, each sluiced on its own fresh PostgreSQL database and blobs
directory (the storage suite's fixtures, reused as they are).

Environment: as for Tests/Interop and Tests/Interop/storage (SLUICE_BIN_DIR must hold
`sluice` and `sluiced`; SLUICE_CERTS_DIR; SLUICE_TEST_DATABASE_URL;
SLUICE_REQUIRE_BINARIES=1 turns every skip into a failure).

Every CLI run gets its own HOME and SLUICE_STATE_DIR (the upload journal) under the
test's temporary directory, and no SLUICE_* variable from the caller's environment.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP_DIR = os.path.dirname(HERE)
STORAGE_DIR = os.path.join(INTEROP_DIR, "storage")
for _d in (INTEROP_DIR, STORAGE_DIR, HERE):
    if _d not in sys.path:
        sys.path.insert(0, _d)

import interop_support as sup  # noqa: E402
import storage_support as ss  # noqa: E402
from servers import require_binary  # noqa: E402

import cli_support as cs  # noqa: E402


def _load_storage_fixtures():
    """The storage suite's conftest, loaded under its own module name so that its
    fixtures can be offered here without copying them (a conftest only serves its own
    directory)."""
    name = "sluice_storage_conftest_for_cli"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(STORAGE_DIR, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_storage = _load_storage_fixtures()

# Re-exported fixtures (same names, same behaviour as in Tests/Interop/storage).
postgres = _storage.postgres
sluiced_help = _storage.sluiced_help
sluiced_command = _storage.sluiced_command
storage = _storage.storage
module_storage = _storage.module_storage
server = _storage.server
StorageServer = _storage.StorageServer
StorageFactory = _storage.StorageFactory


@pytest.fixture(scope="module")
def blob_kind() -> str:
    """The CLI suite runs on the disk blob store only: what it proves is the CLI's, the
    same whatever sluiced keeps bytes in (and test_cli_integrity corrupts a blob file
    in place). The CLI against sluiced on S3, through injected S3 faults, is in
    storage/test_s3_faults.py."""
    return "disk"


def pytest_configure(config):
    config.addinivalue_line("markers", "cli: runs the sluice CLI against sluiced with storage")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.swift)
            item.add_marker(pytest.mark.cli)


@pytest.fixture(scope="session")
def sluice_binary() -> str:
    """The `sluice` CLI, if it has the storage commands."""
    binary = require_binary("sluice")
    try:
        proc = subprocess.run([binary, "--help"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"{binary} --help failed: {e}", pytrace=False)
    text = proc.stdout.decode("utf-8", "replace")
    missing = [c for c in ("upload", "download", "versions", "restore", "sessions", "whoami")
               if c not in text]
    if missing:
        ss.unavailable(f"{binary} lacks the commands {', '.join(missing)}")
    return binary


@pytest.fixture
def cli_runner(sluice_binary, certs, tmp_path) -> cs.CLI:
    """A CLI runner with its own HOME and state directory and no server address yet
    (set .address, or pass address= per run). Kills what it started at teardown."""
    runner = cs.CLI(sluice_binary, certs, str(tmp_path / "cli"))
    yield runner
    runner.close()


@pytest.fixture
def cli(cli_runner, server) -> cs.CLI:
    """A CLI runner aimed at the module's sluiced."""
    server.assert_alive()
    cli_runner.address = server.address
    return cli_runner


@pytest.fixture
def forwarder_factory():
    """Makes loopback TCP forwarders; closes them at teardown."""
    made = []

    def make(target_port: int) -> cs.TCPForwarder:
        f = cs.TCPForwarder(target_port)
        made.append(f)
        return f

    yield make
    for f in made:
        f.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach what the CLI runs said and the logs of every sluiced the
    test could have used."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, cs.CLI) and id(value) not in seen:
            seen.add(id(value))
            rep.sections.append(("sluice runs", value.report()[-12000:]))
        elif isinstance(value, (StorageServer, StorageFactory)):
            for title, text in value.logs():
                if title not in seen:
                    seen.add(title)
                    rep.sections.append((title, text))
