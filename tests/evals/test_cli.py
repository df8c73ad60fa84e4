"""`cppcc-kb eval` as a subprocess: the real CLI on a tiny set against a copy of the corpus KB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.metrics import METRIC_KEYS

CLI = str(Path(sys.executable).parent / "cppcc-kb")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = [
    {"id": "t1", "question": "2025年淄博市政协全年提案数量是多少？", "answers": ["636"],
     "type": "number", "sources": ["zibo-cppcc-2025-review.txt"]},
    '{"id": "t-broken", "question": "少了右括号", "answers": ["1"]',
    {"id": "t2", "question": "济南市政协2025年全年提案数量是多少？", "answers": [], "type": "unanswerable"},
    {"id": "t3", "question": "修改宪法，全国人大要以全体代表多大比例的多数通过？",
     "answers": ["三分之二以上"], "type": "fact", "sources": ["宪法.md"]},
]


def cppcc(*args: str, data: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPPCC_KB_")}
    env["CPPCC_KB_ANSWER_MODE"] = "extractive"  # independent of any LLM the caller has set
    cmd = [CLI] + (["--data", str(data)] if data else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def write_set(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                              for x in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_eval_json_report_save_and_compare(corpus_settings, tmp_path):
    qset = write_set(tmp_path / "tiny.jsonl", TINY)
    report, saved = tmp_path / "report", tmp_path / "run.json"
    proc = cppcc("eval", str(qset), "--json", "--report", str(report), "--save", str(saved),
                 data=corpus_settings.data)
    assert proc.returncode == 0, proc.stderr

    # --json: the last stdout line is one object with exactly the 11 keys
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(metrics) == list(METRIC_KEYS) and len(metrics) == 11
    assert metrics["n"] == 3  # the broken line is skipped, the rest still ran
    assert metrics["unverified_rate"] == 0.0
    assert all(isinstance(v, (int, float)) for v in metrics.values())

    # the broken line is named with its number on stderr; no progress when not a terminal
    assert f"{qset}:2: skipped — not valid JSON" in proc.stderr
    assert "\r" not in proc.stderr

    # --report: index.html, PNG charts and the saved run; --save: the same run
    html = (report / "index.html").read_text(encoding="utf-8")
    assert "t1" in html and "t3" in html and "t-broken" not in html and "line 2" in html
    for png in ("by_type.png", "latency.png"):
        assert (report / png).read_bytes().startswith(PNG_MAGIC)
    run = json.loads(saved.read_text(encoding="utf-8"))
    assert run["metrics"] == metrics and [r["id"] for r in run["results"]] == ["t1", "t2", "t3"]
    assert json.loads((report / "results.json").read_text(encoding="utf-8"))["metrics"] == metrics

    # --compare: a run against itself changes nothing; against a doctored copy it shows moves
    same = cppcc("eval", "--compare", str(saved), str(report))
    assert same.returncode == 0, same.stderr
    assert "Improved (fail → pass): 0" in same.stdout and "Regressed (pass → fail): 0" in same.stdout
    assert "0 improved, 0 regressed: p = 1, within chance" in same.stdout
    doctored = json.loads(saved.read_text(encoding="utf-8"))
    for r in doctored["results"]:
        r["correct"] = not r["correct"]
    doctored["metrics"]["answer_accuracy"] = round(1 - metrics["answer_accuracy"], 4)
    (tmp_path / "b.json").write_text(json.dumps(doctored, ensure_ascii=False), encoding="utf-8")
    moved = cppcc("eval", "--compare", str(saved), str(tmp_path / "b.json"), "--json")
    assert moved.returncode == 0, moved.stderr
    summary = json.loads(moved.stdout.strip().splitlines()[-1])
    passed_before = {r["id"] for r in run["results"] if r["correct"] and not r["untraced"]}
    assert set(summary["regressed"]) == passed_before
    assert set(summary["improved"]) == {"t1", "t2", "t3"} - passed_before
    assert summary["deltas"]["answer_accuracy"]["b"] == doctored["metrics"]["answer_accuracy"]
    # three questions moved: all one way is 2 x 1/8; two against one, no evidence at all
    split = min(len(summary["improved"]), len(summary["regressed"]))
    assert summary["sign_test"] == (0.25 if split == 0 else 1.0)


@pytest.mark.slow
def test_eval_prints_readable_metrics_without_json(corpus_settings, tmp_path):
    qset = write_set(tmp_path / "one.jsonl", TINY[:1])
    proc = cppcc("eval", str(qset), data=corpus_settings.data)
    assert proc.returncode == 0, proc.stderr
    assert "one.jsonl — 1 questions" in proc.stdout
    for key in METRIC_KEYS:
        assert key in proc.stdout
    assert proc.stderr.strip() == ""


# ---- refusals: no model is loaded for these --------------------------------------------------

def test_no_set_and_no_compare_is_a_usage_error():
    proc = cppcc("eval")
    assert proc.returncode == 2
    assert "give a question set" in proc.stderr and "--compare" in proc.stderr


def test_compare_with_a_set_or_run_options_is_a_usage_error(tmp_path):
    a = tmp_path / "a.json"
    a.write_text("{}", encoding="utf-8")
    qset = write_set(tmp_path / "s.jsonl", TINY[:1])
    proc = cppcc("eval", str(qset), "--compare", str(a), str(a), "--report", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "drop QUESTION_SET, --report" in proc.stderr


def test_compare_refuses_a_file_that_is_not_a_saved_run(tmp_path):
    a = tmp_path / "a.json"
    a.write_text('{"x": 1}', encoding="utf-8")
    proc = cppcc("eval", "--compare", str(a), str(a))
    assert proc.returncode == 1 and "not a saved run" in proc.stderr


def test_non_utf8_set_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "gbk.jsonl"
    bad.write_bytes(json.dumps(TINY[0], ensure_ascii=False).encode("gbk"))
    proc = cppcc("eval", str(bad), data=tmp_path / "kb")
    assert proc.returncode == 1
    assert "gbk.jsonl" in proc.stderr and "UTF-8" in proc.stderr and proc.stdout == ""
