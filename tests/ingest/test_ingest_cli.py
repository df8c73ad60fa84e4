"""The staff commands through the real `cppcc-kb` executable: ingest (bad input reported per
file, good files still ingested, exit code), unchanged re-ingest, list, remove."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ingest.indexing import doc_id_for
from tests.support.docs import TOPICS, topic_text, write_topic
from tests.support.kbcheck import chroma_log_position, violations
from tests.support.warm_cli import REPO, warm_cli

CLI = str(REPO / ".venv" / "bin" / "cppcc-kb")


def cli(*args: str | Path, env: dict | None = None, timeout: float = 300):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """Every kind of bad input, with the words its reason must contain."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 3)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntruncated")
    (folder / "slides.pptx").write_bytes(b"PK\x03\x04 not supported")
    (folder / "big.txt").write_text("政协委员建言献策。" * 60, encoding="utf-8")  # 1.6 KB
    return {"empty.txt": "empty", "binary.txt": "binary", "corrupt.pdf": "PDF",
            "slides.pptx": "unsupported file type .pptx", "big.txt": "too large"}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """One real CLI run over good and bad files (1 KB size limit), plus a missing path."""
    root = tmp_path_factory.mktemp("cli")
    docs, data = root / "docs", root / "kb"
    write_topic(docs, "good-one.md", TOPICS[0], paragraphs=1)
    write_topic(docs, "good-two.md", TOPICS[1], paragraphs=1)
    (docs / "manifest.json").write_text(json.dumps({"documents": {"good-two.md": {
        "title": "氢能汽车发展报告", "date": "2025-07-11", "source": "市政协办公厅"}}},
        ensure_ascii=False), encoding="utf-8")
    bad = write_bad_inputs(docs)
    missing = root / "no-such-file.md"
    run = cli("--data", data, "ingest", docs, missing, env={"CPPCC_KB_MAX_FILE_MB": "0.001"})
    return docs, data, bad, missing, run


def test_bad_input_is_reported_per_file_and_good_files_still_go_in(ingested):
    docs, data, bad, missing, run = ingested
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    for name, words in {**bad, missing.name: "file not found"}.items():
        path = str(missing if name == missing.name else docs / name)
        line = [ln for ln in lines if ln.startswith("FAILED") and f" {path}: " in ln]
        assert len(line) == 1, (name, run.stdout)
        reason, _, fix = line[0].partition(f"{path}: ")[2].partition(" — ")
        assert words in reason and len(fix) > 10, line[0]  # the reason, then how to fix it
    for name in ("good-one.md", "good-two.md"):
        assert re.search(rf"^added +{re.escape(str(docs / name))} → {doc_id_for(name)} "
                         rf"\(1 chunks\)$", run.stdout, re.M), run.stdout
    assert re.search(r"^2 added, 6 failed; 2 chunks in [\d.]+s$", lines[-1]), lines[-1]


def test_a_piped_run_prints_no_progress(ingested):
    run = ingested[-1]
    assert "files ·" not in run.stderr and "chunks/s" not in run.stderr
    assert "\r" not in run.stderr + run.stdout


def test_list_shows_id_title_date_chunks_and_source(ingested):
    _, data, *_ = ingested
    listed = cli("--data", data, "list")
    assert listed.returncode == 0, listed.stderr
    two = [ln for ln in listed.stdout.splitlines() if ln.startswith(doc_id_for("good-two.md"))]
    assert two and re.fullmatch(rf"{doc_id_for('good-two.md')}  2025-07-11 +1  氢能汽车发展报告  "
                                r"\[市政协办公厅\]", two[0]), listed.stdout
    assert listed.stdout.splitlines()[-1] == "2 documents, 2 chunks"
    as_json = cli("--data", data, "list", "--json")
    rows = sorted((json.loads(ln) for ln in as_json.stdout.splitlines()),
                  key=lambda r: r["source"])
    assert rows == [
        {"doc_id": doc_id_for("good-one.md"), "title": "樱桃种植调研报告", "date": "",
         "chunks": 1, "source": "good-one.md"},
        {"doc_id": doc_id_for("good-two.md"), "title": "氢能汽车发展报告", "date": "2025-07-11",
         "chunks": 1, "source": "市政协办公厅"},
    ]


def test_reingesting_unchanged_files_does_nothing_and_is_fast(ingested):
    docs, data, *_ = ingested
    before = chroma_log_position(data / "chroma")
    again = cli("--data", data, "ingest", docs / "good-one.md", docs / "good-two.md")
    assert again.returncode == 0, again.stderr
    assert [ln.split()[0] for ln in again.stdout.splitlines()] == ["2"]  # only the summary
    seconds = float(re.search(r"^2 unchanged; 0 chunks in ([\d.]+)s$", again.stdout).group(1))
    assert seconds < 10  # no model load: a first ingest spends far longer loading the model
    assert chroma_log_position(data / "chroma") == before  # not one write


def test_a_changed_file_is_updated_and_remove_takes_it_out_of_both_indexes(tmp_path):
    warm = warm_cli()
    docs, data = tmp_path / "docs", tmp_path / "kb"
    path = write_topic(docs, "report.md", TOPICS[0], paragraphs=3)
    write_topic(docs, "other.md", TOPICS[2])
    assert warm.run(["--data", data, "ingest", docs]).code == 0
    path.write_text(topic_text(TOPICS[1], paragraphs=2), encoding="utf-8")
    updated = warm.run(["--data", data, "ingest", docs])
    assert updated.code == 0
    assert re.search(r"^updated +\S+report\.md → \S+ \(2 chunks\)$", updated.stdout, re.M)
    assert "1 updated, 1 unchanged" in updated.stdout
    snap = warm.call("tests.support.kbcheck:snapshot", str(data), None, ["樱桃种植", "氢能汽车"])
    assert violations(snap, settled=True) == []
    assert snap["queries"]["樱桃种植"]["keyword"] == []
    report = doc_id_for("report.md")
    assert [r["chunks"] for r in snap["records"] if r["doc_id"] == report] == [2]

    removed = cli("--data", data, "remove", report)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith(f"removed    {report}  ")
    listed = cli("--data", data, "list", "--json")
    assert [json.loads(ln)["source"] for ln in listed.stdout.splitlines()] == ["other.md"]
    snap = warm.call("tests.support.kbcheck:snapshot", str(data), None, ["氢能汽车"])
    assert violations(snap, settled=True) == []
    assert not [c for c in snap["chunks"] if c["doc_id"] == report]
    assert snap["queries"]["氢能汽车"]["keyword"] == []
    assert all(doc != report for _, doc, _ in snap["queries"]["氢能汽车"]["hybrid"])

    by_name = cli("--data", data, "remove", "other.md", "doc-0000000000")
    assert by_name.returncode == 1  # one was missing
    assert "removed    " + doc_id_for("other.md") in by_name.stdout
    assert "not found  doc-0000000000 (see `cppcc-kb list`)" in by_name.stderr
    empty = cli("--data", data, "list")
    assert empty.stdout.startswith("The knowledge base is empty")
