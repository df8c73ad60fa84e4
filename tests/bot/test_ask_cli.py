"""`cppcc-kb ask` as a user runs it: the installed command in a subprocess, on the corpus KB
(the text output in-process, to spare a second model load)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cppcc_kb.cli import cli

CLI = Path(sys.executable).with_name("cppcc-kb")
QUESTION = "淄博有多少家“政协委员工作室”？"
CITATION_KEYS = {"n", "doc_id", "title", "source", "quote", "start", "end", "score"}


def run_ask(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "--data", str(data), "ask", *args], capture_output=True,
                          text=True, timeout=600)


def test_ask_json_prints_one_answer_object(corpus_settings):
    done = run_ask(corpus_settings.data, QUESTION, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {"answer", "abstained", "verified", "citations", "timings_ms"} <= answer.keys()
    assert answer["abstained"] is False and answer["verified"] is True
    assert "44" in answer["answer"]
    assert answer["citations"] and all(set(c) == CITATION_KEYS for c in answer["citations"])
    assert any("44" in c["quote"] for c in answer["citations"])
    assert answer["timings_ms"]["total"] > 0


def test_ask_prints_the_answer_and_numbered_sources(corpus_data):
    # In-process: the same command, without paying a second model load in a subprocess.
    done = CliRunner().invoke(cli, ["--data", str(corpus_data), "ask", QUESTION, "--top-k", "2"])
    assert done.exit_code == 0, done.output
    answer, sources = done.output.split("\n来源：\n")
    assert "44" in answer
    assert sources.startswith("[1] 《淄博政协这一年") and "44" in sources.splitlines()[1]


def test_a_refusal_for_doubt_prints_the_closest_passages_not_as_sources(corpus_data):
    done = CliRunner().invoke(cli, ["--data", str(corpus_data), "ask", "委员履职档案包括什么？"])
    assert done.exit_code == 0, done.output
    refusal, closest = done.output.split("\n最接近的原文")
    assert "知识库中没有找到" in refusal and "来源：" not in done.output
    assert closest.count("\n① 《") + closest.count("\n② 《") + closest.count("\n③ 《") == 3
    assert "不是答案" in closest.splitlines()[0]


def test_empty_question_exits_nonzero_with_one_line_and_no_traceback(corpus_settings):
    done = run_ask(corpus_settings.data, "   ")
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "question is empty" in done.stderr
    assert "Traceback" not in done.stderr
