"""Smoke runs of `cppcc-kb bench ingest|query|scale|load|splitter` on two shared documents.

Each command runs as a real CLI process (the benchmarks start measured child processes of their
own). Only the shape of the printed tables is checked — fields present, numbers positive —
never a timing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")


def _run(*args: str, timeout: int = 1800) -> str:
    proc = subprocess.run([sys.executable, "-c", "from cppcc_kb.cli import main; main()", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _num(cell: str) -> float:
    assert _NUMBER.match(cell), f"not a number: {cell!r}"
    return float(cell.replace(",", ""))


def _row(out: str, label: str) -> list[str]:
    """The cells after `label` in a table line that starts with it."""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith(label + " "):
            rest = line[len(label):].split()
            if rest:
                return rest
    raise AssertionError(f"no row {label!r} in:\n{out}")


def _has_history() -> bool:
    """`--versus` reads commits: a checkout without its git history cannot measure one."""
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=REPO,
                          capture_output=True).returncode == 0


VERSUS = ["--versus", "HEAD"] if _has_history() else []
needs_history = pytest.mark.skipif(not VERSUS, reason="no git history to measure a commit of")


@pytest.fixture(scope="module")
def bench_kb(tmp_path_factory, shared_corpus) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("bench") / "kb"
    out = _run("bench", "ingest", "--corpus", str(shared_corpus), "--limit", "2",
               "--data", str(data), *VERSUS)
    return data, out


def test_bench_ingest_prints_both_pipelines(bench_kb):
    data, out = bench_kb
    assert "corpus · ours" in out and "corpus · baseline" in out
    columns = 3 if VERSUS else 2  # ours, the commit checked out (--versus HEAD), the baseline
    assert _row(out, "documents") == ["2"] * columns
    for label in ("chunks", "characters", "wall s", "chunks/s", "chars/s", "embedder s",
                  "embedder share of wall %", "peak RSS MB", "model load s (not in wall)"):
        cells = _row(out, label)[:columns]
        assert all(_num(c) > 0 for c in cells), label
    assert _row(out, "passages embedded in")[0] == "bf16"  # a new store's default
    assert 0 < _num(_row(out, "of which sentence vectors s")[0]) < _num(_row(out, "embedder s")[0])
    overhead = _row(out, "overhead vs embedder %")
    assert all(_num(c) >= 0 for c in overhead)
    reingest = _row(out, "unchanged re-ingest s")
    assert _num(reingest[0]) >= 0 and "n/a" in " ".join(reingest[1:])
    assert _row(out, "its docs unchanged")[0] == "2"
    assert (data / "chroma").is_dir() and (data.parent / "kb-langchain").is_dir()


@pytest.fixture(scope="module")
def query_run(bench_kb, tmp_path_factory) -> tuple[str, Path]:
    """One `bench query --http` over a copy of the store with no baseline beside it, so the
    baseline is filled from our own chunks and vectors, and the commit checked out measured
    beside the working tree (`--versus`, as the old and new answer paths are compared); its
    printout and its JSON."""
    import shutil

    root = tmp_path_factory.mktemp("query")
    shutil.copytree(bench_kb[0], root / "kb")
    saved = root / "query.json"
    out = _run("bench", "query", "--data", str(root / "kb"), "--limit", "2", "--runs", "1",
               "--http", "--baseline-from-ours", *VERSUS, "--json", str(saved))
    assert (root / "kb-langchain").is_dir()
    return out, saved


def test_bench_query_prints_latency_per_stage(query_run):
    out, _ = query_run
    copied = re.search(r"# baseline: (\d+) of our chunks copied", out)
    assert copied and int(copied.group(1)) > 0
    for label in ("Bot.ask (in-process) wall", "prepare", "retrieve", "answer", "verify",
                  "LangChain retriever k=5 wall", "embed_query"):
        n, p50, p95, mean, top = _row(out, label)[:5]
        assert _num(n) == 2 and _num(p50) > 0 and _num(p95) >= _num(p50) > 0, label
    assert "POST /api/ask (HTTP) wall" in out or "POST /api/ask (HTTP): skipped" in out
    n, p50 = _row(out, "query embedding alone")[:2]
    assert _num(n) == 2 and _num(p50) > 0
    ratio = re.search(r"POST /api/ask ÷ query embedding alone: p50 ([\d.]+)×", out)
    assert ratio and float(ratio.group(1)) > 1  # an ask embeds the question and more
    # what any ask pays the store, and the floor they make with the embedding
    parts = [_num(_row(out, label)[1]) for label in ("store search alone", "store read alone")]
    assert all(p > 0 for p in parts) and _num(_row(out, "store search alone")[0]) == 2
    floor = re.search(r"stack floor \(embedding \+ one dense search \+ one read of the passages "
                      r"kept\), p50 ([\d.]+) ms = ([\d.]+)×", out)
    assert floor and abs(float(floor.group(1)) - (_num(p50) + sum(parts))) < 0.2
    assert float(floor.group(2)) > 1
    assert "cProfile of the slowest question" in out and "cumtime" in out


@needs_history
def test_bench_ingest_versus_ingests_with_another_commit_in_the_same_run(bench_kb):
    _, out = bench_kb
    assert "corpus · HEAD" in out
    assert _row(out, "chunks")[0] == _row(out, "chunks")[1]  # one code, one split
    assert re.search(r"corpus: wall, this code ÷ HEAD: [\d.]+× \([\d.]+ s against [\d.]+ s\)",
                     out)


@needs_history
def test_bench_query_versus_measures_another_commit_in_the_same_run(query_run):
    import json

    out, saved = query_run
    for label in ("Bot.ask at HEAD wall", "POST /api/ask at HEAD wall"):
        n, p50 = _row(out, label)[:2]
        assert _num(n) == 2 and _num(p50) > 0, label
    for title in ("Bot.ask", "POST /api/ask"):
        assert re.search(rf"{re.escape(title)}, this code − HEAD: p50 [+-][\d.]+ ms, "
                         rf"p95 [+-][\d.]+ ms", out), title
    result = json.loads(saved.read_text("utf-8"))
    assert result["versus"].startswith("HEAD+") and result["in-process-versus"]["chunks"] > 0


def test_bench_query_versus_an_unknown_commit_is_refused(bench_kb):
    proc = subprocess.run([sys.executable, "-c", "from cppcc_kb.cli import main; main()",
                           "bench", "query", "--data", str(bench_kb[0]), "--versus", "no-such-ref",
                           "--limit", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "git knows no commit 'no-such-ref'" in proc.stderr, proc.stderr


def test_bench_load_counts_requests_errors_and_stale_answers_per_level(bench_kb):
    data, _ = bench_kb
    out = _run("bench", "load", "--data", str(data), "--askers", "1", "--askers", "3",
               "--seconds", "3")
    rows = [line.strip("|").split("|") for line in out.splitlines()
            if re.match(r"^\| \d+ \|", line)]
    assert [int(r[0]) for r in rows] == [1, 3]
    for askers, requests, per_s, errors, cycles, stale, missing, p50, p95, p99, rss in rows:
        assert _num(requests.strip()) > 0 and _num(errors.strip()) == 0
        assert _num(stale.strip()) == 0 and _num(missing.strip()) == 0
        assert _num(cycles.strip()) >= 0  # a write cycle may outlast a 3-second level
        assert 0 < _num(p50.strip()) <= _num(p95.strip()) <= _num(p99.strip())
        assert _num(rss.strip()) > 0
    listed = _run("--data", str(data), "list")  # served from a copy: the folder is untouched
    assert "负载测试" not in listed and listed.strip()


def test_bench_splitter_scores_each_splitter(tmp_path, shared_corpus, shared_evals):
    out = _run("bench", "splitter", "--corpus", str(shared_corpus), "--limit", "2",
               "--questions", str(shared_evals / "seed_dev.jsonl"),
               "--splitter", "ours-300", "--splitter", "plain-lc-500-50",
               "--cache", str(tmp_path / "cache"))
    rows = [line.split() for line in out.splitlines()
            if line.startswith(("ours-300 ", "plain-lc-500-50 "))]
    assert [(r[0], r[1]) for r in rows] == [("ours-300", "dense"), ("ours-300", "hybrid"),
                                            ("plain-lc-500-50", "dense")]
    for r in rows:
        assert _num(r[2]) > 0 and _num(r[3]) > 0  # chunks, characters per chunk
        scores = [_num(c) for c in r[5:8] + r[9:12]]  # strict and lenient MRR, hit@1, hit@5
        assert all(0 <= s <= 1 for s in scores), r


def test_bench_scale_measures_and_charts_saved_runs_one_row_per_knowledge_base(
        bench_kb, query_run, tmp_path):
    import json

    _, saved = query_run
    other = tmp_path / "other.json"  # the saved run as if measured over a larger store
    result = json.loads(saved.read_text("utf-8"))
    chunks = result["in-process"]["chunks"]
    result["in-process"]["chunks"] = chunks * 10
    other.write_text(json.dumps(result), "utf-8")
    png = tmp_path / "scale.png"
    out = _run("bench", "scale", "--data", str(bench_kb[0]), "--results", str(other),
               "--limit", "2", "--runs", "1", "--png", str(png),
               "--json", str(tmp_path / "scale.json"))
    rows = [line.split() for line in out.splitlines()
            if re.match(r"^\s*[\d,]+\s+POST /api/ask", line)]
    assert [_num(r[0]) for r in rows] == [chunks, chunks * 10]  # one per store, by size
    assert "query embedding alone" in out and "LangChain retriever k=5" in out
    # the store measured now: its servers asked with the question log on and off in turn
    assert re.search(r"question log cost over HTTP: p50 [+-][\d.]+ ms", out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    charted = json.loads((tmp_path / "scale.json").read_text("utf-8"))
    assert [r["chunks"] for r in charted["rows"]] == [chunks, chunks * 10]


def test_bench_scale_refuses_what_it_cannot_chart(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("p50 was fine", "utf-8")
    for args, said in ((["--results", str(bad)], "notes.json: not readable as JSON"),
                       ([], "--data DIR"), (["--data", str(tmp_path)], "holds no knowledge base")):
        proc = subprocess.run([sys.executable, "-c", "from cppcc_kb.cli import main; main()",
                               "bench", "scale", "--png", str(tmp_path / "x.png"), *args],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_bench_query_two_serve_of_one_chroma_run(bench_kb, tmp_path):
    import shutil

    from tests.support.chroma import ChromaServer

    shutil.copytree(bench_kb[0] / "chroma", tmp_path / "chroma" / "db")  # the store, served
    server = ChromaServer(tmp_path / "chroma").start()
    (tmp_path / "work").mkdir()
    try:
        out = _run("bench", "query", "--data", str(tmp_path / "work"), "--chroma-url",
                   server.url, "--limit", "2", "--runs", "1", "--http", "--skip-baseline",
                   "--no-profile")
    finally:
        server.stop()
    for label in ("POST /api/ask, serve A wall", "POST /api/ask, serve B wall"):
        n, p50 = _row(out, label)[:2]
        assert _num(n) == 2 and _num(p50) > 0, label
    assert "errors 0" in out and "question log cost" not in out
    # each server derived its own keyword index from the Chroma server
    assert {p.name for p in (tmp_path / "work").iterdir()} >= {"serve-A", "serve-B"}
