"""Fixtures for the C client suite: `sluice-c` (clients/c) against a storage-capable
sluiced on its own fresh PostgreSQL database and blobs directory (the storage suite's
fixtures, reused as the CLI suite does), beside the Swift `sluice` CLI and grpcio.

Environment: as for Tests/Interop/storage, plus SLUICE_C_BIN_DIR, the directory with
sluice-c and sluice-c-asan (scripts/run-tests.sh builds them into .build-c). When it is
unset the binaries are built here with `make c-client`'s rules; a failed build fails the
tests, never skips them.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP_DIR = os.path.dirname(HERE)
STORAGE_DIR = os.path.join(INTEROP_DIR, "storage")
CLI_DIR = os.path.join(INTEROP_DIR, "cli")
for _d in (INTEROP_DIR, STORAGE_DIR, CLI_DIR, HERE):
    if _d not in sys.path:
        sys.path.insert(0, _d)

import c_support as cs  # noqa: E402
import cli_support  # noqa: E402
from servers import require_binary  # noqa: E402


def _load_storage_fixtures():
    """The storage suite's conftest under its own module name (a conftest only serves its
    own directory), as Tests/Interop/cli/conftest.py does."""
    name = "sluice_storage_conftest_for_c_client"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(STORAGE_DIR, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_storage = _load_storage_fixtures()
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
    """Disk only: what this suite proves is the C client's, whatever sluiced stores in."""
    return "disk"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.swift)


@pytest.fixture(scope="session")
def c_binaries() -> tuple[str, str]:
    return cs.binaries()


@pytest.fixture
def sluice_c(c_binaries, certs, server, tmp_path) -> cs.CClient:
    """sluice-c aimed at the module's sluiced."""
    server.assert_alive()
    return cs.CClient(c_binaries[0], certs, str(tmp_path), server.address)


@pytest.fixture
def sluice_c_asan(c_binaries, certs, server, tmp_path) -> cs.CClient:
    """The ASan/LSan/UBSan build, with leak detection on and any report fatal."""
    server.assert_alive()
    return cs.CClient(c_binaries[1], certs, str(tmp_path), server.address, sanitized=True)


@pytest.fixture
def swift_cli(certs, server, tmp_path) -> cli_support.CLI:
    """The Swift `sluice` CLI aimed at the module's sluiced."""
    server.assert_alive()
    runner = cli_support.CLI(require_binary("sluice"), certs, str(tmp_path / "swift-cli"),
                             server.address)
    yield runner
    runner.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach what sluice-c said and the logs of the sluiced it used."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, cs.CClient):
            rep.sections.append((f"{os.path.basename(value.binary)} runs", value.report()[-12000:]))
        elif isinstance(value, StorageServer):
            for title, text in value.logs():
                rep.sections.append((title, text))
