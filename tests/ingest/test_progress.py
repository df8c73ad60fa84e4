"""Ingest progress: one self-rewriting line of files and chunks on a terminal, nothing when piped."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import threading

import pytest

from tests.support.docs import TOPICS, write_topic
from tests.support.warm_cli import REPO, warm_cli

CLI = str(REPO / ".venv" / "bin" / "cppcc-kb")
PROGRESS = re.compile(r"\r  (\d+)/(\d+) files · (\d+) chunks · [\d.]+ chunks/s · ETA \d+s")


def make_docs(folder, count: int = 3):
    for i in range(count):
        write_topic(folder, f"{i}.md", TOPICS[i], paragraphs=1)


def run_in_pty(argv: list[str], timeout: float = 300) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; return (exit code, everything shown)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            close_fds=True)
    os.close(slave)
    shown = bytearray()

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the last holder of the terminal closed it
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(10)
        os.close(master)
    return code, shown.decode("utf-8", "replace")


@pytest.mark.slow
def test_a_terminal_shows_files_and_chunks_as_they_go(tmp_path):
    docs = tmp_path / "docs"
    make_docs(docs)
    code, shown = run_in_pty([CLI, "--data", str(tmp_path / "kb"), "ingest", str(docs)])
    assert code == 0, shown
    steps = [tuple(map(int, m.groups())) for m in PROGRESS.finditer(shown)]
    assert [(done, total) for done, total, _ in steps] == [(1, 3), (2, 3), (3, 3)], shown
    assert steps[-1][2] == 3  # every chunk counted by the end
    assert all(a[2] <= b[2] for a, b in zip(steps, steps[1:]))  # chunks only go up
    # the status line is closed before the summary, which stays readable
    assert re.search(r"ETA \d+s   \r?\n", shown), shown
    assert "3 added; 3 chunks in" in shown


def test_a_piped_run_stays_quiet(tmp_path):
    docs = tmp_path / "docs"
    make_docs(docs)
    run = warm_cli().run(["--data", tmp_path / "kb", "ingest", docs])  # stdout/stderr: files
    assert run.code == 0, run.stderr
    assert not PROGRESS.search(run.stderr) and "files ·" not in run.stderr
    assert "\r" not in run.stderr + run.stdout
    assert run.stdout.splitlines()[-1].startswith("3 added; 3 chunks in")

