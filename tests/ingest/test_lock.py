"""One ingest at a time: the lock itself, and two real `cppcc-kb ingest` processes at once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.errors import StoreLocked
from ingest.lock import ingest_lock
from tests.support.docs import TOPICS, write_topic
from tests.support.warm_cli import REPO, warm_cli

CLI = str(REPO / ".venv" / "bin" / "cppcc-kb")
_HOLD = ("import sys, time; from pathlib import Path; from ingest.lock import ingest_lock\n"
         "with ingest_lock(Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(600)\n")


def test_a_second_holder_is_refused_at_once_with_who_holds_it(tmp_path):
    with ingest_lock(tmp_path / "kb"):
        started = time.monotonic()
        with pytest.raises(StoreLocked) as info:
            with ingest_lock(tmp_path / "kb"):
                pytest.fail("two holders at once")
        assert time.monotonic() - started < 1  # refused, not queued
    message = str(info.value)
    assert f"another ingest (pid {os.getpid()}, since " in message
    assert re.search(r"since \d\d:\d\d:\d\d\)", message)
    assert str(tmp_path / "kb") in message and "wait for it to finish" in message
    with ingest_lock(tmp_path / "kb"):  # released on exit: the next one gets it
        holder = json.loads((tmp_path / "kb" / "ingest.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["since"] <= time.time()


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError):
        with ingest_lock(tmp_path):
            raise RuntimeError("boom")
    with ingest_lock(tmp_path):
        pass


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    data = tmp_path / "kb"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(data)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLocked, match=f"pid {holder.pid},"):
            with ingest_lock(data):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with ingest_lock(data):  # the kernel dropped the dead process's lock
        pass


def test_an_unreadable_holder_note_still_gives_a_clear_refusal(tmp_path):
    data = tmp_path / "kb"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(data)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        (data / "ingest.lock").write_text("garbage")
        with pytest.raises(StoreLocked, match=r"another ingest \(pid \?, since"):
            with ingest_lock(data):
                pass
    finally:
        holder.kill()
        holder.wait(10)


@pytest.mark.slow
def test_two_cli_ingests_at_once_the_second_is_refused_and_the_first_completes(tmp_path):
    """Real `cppcc-kb` processes: the first holds the lock from before its model loads to the end."""
    warm = warm_cli()  # started before the race, so `remove` below runs while the first ingests
    docs, data = tmp_path / "docs", tmp_path / "kb"
    for i, topic in enumerate(TOPICS[:4]):
        write_topic(docs, f"{i}.md", topic)
    first = subprocess.Popen([CLI, "--data", str(data), "ingest", str(docs)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_holder(data / "ingest.lock", first)
        second = subprocess.run([CLI, "--data", str(data), "ingest", str(docs)],
                                capture_output=True, text=True, timeout=120)
        removing = warm.run(["--data", str(data), "remove", "0.md"])  # remove takes it too
        assert first.poll() is None, "the first ingest ended before the others could collide"
        assert second.returncode == 1
        assert f"Error: another ingest (pid {first.pid}, since " in second.stderr
        assert "wait for it to finish and run this again" in second.stderr
        assert "Traceback" not in second.stderr and second.stdout == ""
        assert removing.code == 1 and f"another ingest (pid {first.pid}," in removing.stderr
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err
    assert "4 added" in out and "Traceback" not in err
    listed = warm.run(["--data", str(data), "list", "--json"])
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["source"] for r in records) == [f"{i}.md" for i in range(4)]
    assert all(r["chunks"] == 2 for r in records)


def _wait_for_holder(lock: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads(lock.read_text() or "{}").get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{proc.pid} never took {lock}")
