"""Upload jobs kept in data/jobs.sqlite: a restarted server still knows its recent jobs, and one
cut off by the stop says so; a log that cannot be written never stops an upload."""

from __future__ import annotations

from ingest.jobs import INTERRUPTED, IngestJob, JobLog
from ingest.pipeline import FileOutcome


def test_jobs_outlive_the_process_and_an_unfinished_one_reads_interrupted(tmp_path):
    log = JobLog(tmp_path / "jobs.sqlite")
    done = IngestJob("job-done", ["a.md"], None, status="done", done=1, total=1, chunks=3,
                     outcomes=[FileOutcome("/x/a.md", "added", "doc-a", "甲", 3)],
                     refused=[{"file": "b.exe", "status": "failed", "reason": "unsupported"}],
                     created=1.0)
    running = IngestJob("job-running", ["c.md", "d.md"], None, status="running", done=1,
                        total=2, created=2.0)
    log.save(done)
    log.save(running)
    again = {j.id: j for j in JobLog(tmp_path / "jobs.sqlite").recent(10)}
    assert again["job-done"].status == "done" and again["job-done"].outcomes[0].doc_id == "doc-a"
    assert again["job-done"].refused[0]["file"] == "b.exe"
    assert again["job-running"].status == "failed" and again["job-running"].note == INTERRUPTED
    assert again["job-running"].finished > 0
    # and it was saved so: the next restart reads it the same way
    assert JobLog(tmp_path / "jobs.sqlite").recent(10)[-1].note == INTERRUPTED


def test_a_log_that_cannot_be_written_is_reported_once_and_changes_nothing(tmp_path, caplog):
    (tmp_path / "jobs.sqlite").write_bytes(b"not a database" * 100)
    log = JobLog(tmp_path / "jobs.sqlite")
    log.save(IngestJob("job-x", ["a.md"], None))
    log.save(IngestJob("job-y", ["b.md"], None))
    assert log.recent(10) == []
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1 and "move the file away" in warnings[0].getMessage()


def test_a_job_another_live_server_runs_is_left_to_it(tmp_path):
    import sqlite3
    import subprocess
    import sys

    log = JobLog(tmp_path / "jobs.sqlite")
    log.save(IngestJob("job-theirs", ["a.md"], None, status="running", created=1.0))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
            db.execute("UPDATE jobs SET owner = ?", (other.pid,))
        assert JobLog(tmp_path / "jobs.sqlite").recent(10) == []
    finally:
        other.kill()
        other.wait()
    gone = JobLog(tmp_path / "jobs.sqlite").recent(10)  # its server is gone: interrupted
    assert [(j.id, j.note) for j in gone] == [("job-theirs", INTERRUPTED)]
