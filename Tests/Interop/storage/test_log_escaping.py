"""Log injection: object names and metadata keys are the client's to choose, and they
reach sluiced's log (in the messages of failed calls). Whatever they hold — CR, LF,
VT, ESC, NUL, DEL, NEL and the other C1 controls, U+2028/U+2029, bidirectional
overrides — every log line stays one line of logfmt, starting with ts=, with every
such character escaped, so no client can forge or hide a log entry."""

from __future__ import annotations

import re
import time
import unicodedata

import pytest

import storage_support as ss
from storage_support import Code, expect_error

NASTY = ["\r", "\n", "\x0b", "\x0c", "\x1b[31m", "\x00", "\x7f", "\x85", "\x9b", "\u2028",
         "\u2029", "\u202e", "\u200b", "\ufeff", "\t", "\x08"]
FORGED = ' ts=2026-01-01T00:00:00Z level=critical msg="forged entry"'


@pytest.fixture(scope="module")
def server(module_storage):
    return module_storage.server(label="sluiced-logs", log_level="debug")


def _forbidden(ch: str) -> bool:
    return ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn")


def test_control_and_separator_characters_never_reach_the_log_raw(server, client):
    markers = []
    for i, ch in enumerate(NASTY):
        marker = f"inject-{i}-{ss.unique_name('m')}"
        markers.append(marker)
        name = f"logs/{marker}{ch}{FORGED}{ch}end"
        if "\x00" in name:
            expect_error(Code.INVALID_ARGUMENT, client.get_object, name)
        else:
            expect_error(Code.NOT_FOUND, client.get_object, name)
            # an object whose name holds it, then a call on a version it lacks
            info = client.put_object(name, b"x" * 10, partition_size=4)
            expect_error(Code.NOT_FOUND, client.get_object, name, version=info.version + 5)
        # a metadata key that holds it (refused: the key is quoted back in the message)
        bad_key = f"{marker}{ch}{FORGED}\x00"
        expect_error(Code.INVALID_ARGUMENT, client.create_session, ss.unique_name("logs/meta"),
                     b"abc", 4, user_metadata={bad_key: "v"})
    server.assert_alive()

    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:       # the log is written as calls end
        text = server.mp.output()
        if all(m in text for m in markers):
            break
        time.sleep(0.1)
    for marker in markers:
        assert marker in text, f"no log line mentions {marker}"

    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("sluiced listening on"):
            continue
        assert line.startswith("ts="), f"log line {number} does not start with ts=: {line[:300]!r}"
        bad = sorted({f"U+{ord(c):04X}" for c in line if _forbidden(c)})
        assert not bad, f"log line {number} holds raw {bad}: {line[:300]!r}"
    forged = [line for line in lines if re.match(r"ts=2026-01-01T00:00:00Z", line)]
    assert not forged, f"a forged log entry became a line of its own: {forged[:3]}"
    # The escapes are there, readable.
    for escaped in (r"\r", r"\u{85}", r"\u{2028}", r"\u{1b}", r"\u{0}"):
        assert escaped in text, f"{escaped} is missing from the log"
