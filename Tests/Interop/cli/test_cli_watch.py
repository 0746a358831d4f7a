"""`sluice watch` from the outside: prints changes as they commit (--json), saves its
cursor, resumes right after it when restarted (at least once, never lost), reconnects by
itself when sluiced is killed and comes back, and stops with advice a user can follow
(the cursor file to delete) when the server can no longer resume from its cursor."""

from __future__ import annotations

import os
import time

import pytest

import cli_support as cs


def wait_for_file(path: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        with open(path) as f:
            content = f.read().strip()
        if content == text:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} holds {content!r}, not {text!r}, after {timeout}s")


def names(events: list[dict]) -> list[str]:
    return [e["name"] for e in events if "cursor" in e]


def test_watch_prints_changes_and_resumes_from_its_cursor_file(storage, cli_runner, tmp_path):
    server = storage.server()
    client = server.client()
    cursor_file = str(tmp_path / "watch.cursor")
    with open(cursor_file, "w") as f:
        f.write(client.list_objects(page_size=1).change_cursor + "\n")
    cli_runner.address = server.address
    watch = cli_runner.start("watch", "w/", "--json", "--cursor-file", cursor_file)
    client.put_object("w/1", b"one")
    client.put_object("elsewhere", b"not under the prefix")
    client.put_object("w/2", b"two")
    client.delete_object("w/1")
    events = watch.wait_for(lambda ev: ev if len(names(ev)) >= 3 else None, 60, "three changes")
    assert names(events) == ["w/1", "w/2", "w/1"], watch.explain()
    assert [e["kind"] for e in events] == ["version_created", "version_created", "object_deleted"]
    assert events[0]["version"] == 1 and events[0]["size"] == 3
    # The cursor is saved right after the lines are printed (a crash in between prints them
    # again on restart: at least once, never lost).
    wait_for_file(cursor_file, events[-1]["cursor"])
    watch.kill()
    client.put_object("w/3", b"three")
    again = cli_runner.start("watch", "w/", "--json", "--cursor-file", cursor_file)
    later = again.wait_for(lambda ev: ev if names(ev) else None, 60, "the change after the cursor")
    assert names(later) == ["w/3"], again.explain()
    again.kill()


def test_watch_text_lines(storage, cli_runner, tmp_path):
    server = storage.server()
    client = server.client()
    cursor_file = str(tmp_path / "watch.cursor")
    with open(cursor_file, "w") as f:
        f.write(client.list_objects(page_size=1).change_cursor)
    cli_runner.address = server.address
    watch = cli_runner.start("watch", "--cursor-file", cursor_file)
    client.put_object("t/x", b"12345")
    watch.wait_for(lambda _: any("t/x" in line for line in watch.lines), 60, "a text line")
    line = next(line for line in watch.lines if "t/x" in line)
    fields = line.split(" ")
    assert fields[1] == "version_created" and fields[3] == "t/x" and fields[4] == "v1" and fields[5] == "5", line
    assert fields[-1].startswith("c1."), line
    watch.kill()


def _watching_through_a_forwarder(storage, cli_runner, forwarder_factory, tmp_path, *flags):
    """A server, a client of it, a forwarder to it, and `sluice watch` through the forwarder
    from the server's current cursor."""
    server = storage.server()
    client = server.client()
    forwarder = forwarder_factory(server.port)
    cursor_file = str(tmp_path / "watch.cursor")
    with open(cursor_file, "w") as f:
        f.write(client.list_objects(page_size=1).change_cursor)
    watch = cli_runner.start("watch", "--json", "--cursor-file", cursor_file, *flags, address=forwarder.address)
    return server, client, forwarder, watch


def test_watch_reconnects_across_a_sluiced_sigkill(storage, cli_runner, forwarder_factory, tmp_path):
    server, client, forwarder, watch = _watching_through_a_forwarder(storage, cli_runner, forwarder_factory, tmp_path)
    client.put_object("k/1", b"a")
    watch.wait_for(lambda ev: "k/1" in names(ev), 60, "the first change")
    server.kill()
    server.start()
    forwarder.retarget(server.port)
    client = server.client()
    client.put_object("k/2", b"b")
    events = watch.wait_for(lambda ev: ev if "k/2" in names(ev) else None, 90, "the change after the restart")
    assert names(events) == ["k/1", "k/2"], watch.explain()
    assert watch.alive(), watch.explain()
    watch.kill()


def test_an_idle_watch_outlasts_more_outages_than_its_retries(storage, cli_runner, forwarder_factory, tmp_path):
    # Only failures in a row use the retries up: each cut below is followed by a reconnection
    # the server took (its response headers came), though no change came with it. Counting
    # by the cursor alone, the third cut ended the watch with exit 6.
    _, client, forwarder, watch = _watching_through_a_forwarder(
        storage, cli_runner, forwarder_factory, tmp_path, "--retries", "2")
    for _ in range(4):
        time.sleep(2.5)                  # the watch got through (again) and waits, idle
        forwarder.cut()
    client.put_object("idle/after", b"x")
    watch.wait_for(lambda ev: "idle/after" in names(ev), 60, "the change after four cuts")
    assert watch.alive(), watch.explain()
    assert watch.stderr().count("reconnecting") == 4, watch.explain()
    watch.kill()


def test_a_watch_whose_connection_dies_without_a_word_reconnects_within_seconds(
        storage, cli_runner, forwarder_factory, tmp_path):
    # The path to the server goes silent: no reset, no FIN, the bytes just vanish. Only a
    # keepalive PING tells the watch; it pings after 10 s of silence and gives the connection
    # up 10 s later. With the transport's defaults (60 s and 20 s) the change came after 80 s.
    _, client, forwarder, watch = _watching_through_a_forwarder(storage, cli_runner, forwarder_factory, tmp_path)
    client.put_object("silent/before", b"x")
    watch.wait_for(lambda ev: "silent/before" in names(ev), 60, "the change before the connection went silent")
    forwarder.silence()
    client.put_object("silent/after", b"x")
    watch.wait_for(lambda ev: "silent/after" in names(ev), 50, "the change after the connection went silent")
    assert "keepalive" in watch.stderr(), watch.explain()
    assert watch.alive(), watch.explain()
    watch.kill()


def _cursor_files(cli) -> list[str]:
    """The saved cursor files (not the temporary file a save writes before its rename), each
    holding a cursor."""
    folder = os.path.join(cli.state_dir, "watch")
    if not os.path.isdir(folder):
        return []
    found = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".cursor")]
    return [path for path in found if os.path.getsize(path) > 0]


def test_watch_from_a_pruned_cursor_names_the_file_to_delete(storage, postgres, cli_runner):
    """The saved cursor is older than the changes sluiced keeps (--change-retention): the
    watch stops (exit 3, not found: the changes after it are gone) naming its cursor file and
    saying to delete it; it does not skip the lost changes silently. Deleted, the watch
    starts from now."""
    server = storage.server(change_retention=1, collector_interval=1)
    client = server.client()
    cli_runner.address = server.address
    first = cli_runner.start("watch", "p/")
    deadline = time.monotonic() + 30
    while not _cursor_files(cli_runner) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    [cursor_file] = _cursor_files(cli_runner)
    client.put_object("p/1", b"1")
    client.put_object("p/2", b"2")
    deadline = time.monotonic() + 30
    # Both changes pruned (not only the first: a cursor is out of range only once the
    # changes right after it are gone).
    pruned = "SELECT pruned_through >= last_position AND last_position >= 2 FROM change_log_state"
    while postgres.run(pruned, url=server.database_url).strip() != "t":
        assert time.monotonic() < deadline, "the collector did not prune the change log within 30 s"
        time.sleep(0.5)

    r = cli_runner.run("watch", "p/", timeout=60).expect(cs.EXIT_NOT_FOUND)
    cs.assert_human_message(r.stderr)
    assert cursor_file in r.stderr and "delete" in r.stderr.lower(), r.explain()
    assert "change_cursor" not in r.stderr, f"advice only an API client can follow:\n{r.explain()}"

    os.remove(cursor_file)
    again = cli_runner.start("watch", "p/", "--json")
    deadline = time.monotonic() + 30
    while not _cursor_files(cli_runner) and time.monotonic() < deadline:
        assert again.alive(), again.explain()
        time.sleep(0.05)
    client.put_object("p/3", b"3")
    events = again.wait_for(lambda ev: ev if names(ev) else None, 60, "a change after starting afresh")
    assert names(events) == ["p/3"], again.explain()
    again.kill()


def test_watch_from_a_cursor_of_another_server_names_the_file_to_delete(cli, tmp_path):
    cursor_file = str(tmp_path / "elsewhere.cursor")
    with open(cursor_file, "w") as f:
        f.write("c1.999999999999\n")
    r = cli.run("watch", "--cursor-file", cursor_file, timeout=60).expect(cs.EXIT_NOT_FOUND)
    cs.assert_human_message(r.stderr)
    assert cursor_file in r.stderr and "delete" in r.stderr.lower(), r.explain()


@pytest.mark.parametrize("content", ["", "\n", "not-a-cursor\n", "c1.9999999999999999999999\n"],
                         ids=["empty", "blank-line", "garbage", "overflowing"])
def test_watch_from_an_unusable_cursor_file_names_the_file_to_delete(cli, tmp_path, content):
    """An emptied or mangled cursor file (a crash or a full disk during its write, a touch)
    stops the watch with the file named, rather than watching from now and skipping the
    changes made since without a word."""
    cursor_file = str(tmp_path / "mangled.cursor")
    with open(cursor_file, "w") as f:
        f.write(content)
    r = cli.run("watch", "--cursor-file", cursor_file, timeout=60).expect(cs.EXIT_NOT_FOUND)
    cs.assert_human_message(r.stderr, "an unusable cursor file")
    assert cursor_file in r.stderr and "delete" in r.stderr.lower(), r.explain()


def test_watch_help_promises_at_least_once(cli_runner):
    text = " ".join(cli_runner.run("watch", "--help", connect=False).expect(0).out.split())
    assert "at least once, never lost" in text, text
    assert "nothing twice" not in text, text
