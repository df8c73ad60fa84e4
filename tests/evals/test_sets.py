"""Question sets: every broken line is reported with its number and skipped, never dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.errors import EvalError
from evals.sets import load_set

REPO = Path(__file__).resolve().parents[2]
GOOD = {"id": "g1", "question": "淄博市政协全年提案数量是多少？", "answers": ["636"], "type": "number"}


def write(tmp_path: Path, lines: list[str], name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line(**fields) -> str:
    return json.dumps({**GOOD, **fields}, ensure_ascii=False)


def test_broken_lines_are_reported_by_number_and_the_rest_loads(tmp_path):
    path = write(tmp_path, [
        line(id="a"),                                   # 1
        '{"id": "b", "question": "缺右括号"',            # 2 not JSON
        "",                                             # 3 blank: ignored, not a problem
        '["a", "list"]',                                # 4 not an object
        json.dumps({"id": "c", "answers": ["1"]}),      # 5 no question
        json.dumps({"id": "d", "question": "问？"}),     # 6 no answers
        line(id="e", answers="636"),                    # 7 answers not a list
        line(id="f", question="   "),                   # 8 empty question
        line(id="g", history="上一问"),                  # 9 history not a list
        line(id="h"),                                   # 10
    ])
    questions, problems = load_set(path)
    assert [q.id for q in questions] == ["a", "h"]
    assert [p.line for p in problems] == [2, 4, 5, 6, 7, 8, 9]
    reasons = {p.line: p.reason for p in problems}
    assert "not valid JSON" in reasons[2] and "column" in reasons[2]
    assert "JSON object" in reasons[4]
    assert "'question'" in reasons[5] and "'answers'" in reasons[6]
    assert "list of strings" in reasons[7] and "history" in reasons[9]
    assert "non-empty" in reasons[8]


def test_duplicate_ids_keep_the_first_and_report_the_repeat(tmp_path):
    path = write(tmp_path, [line(id="x", answers=["1"]), line(id="y"), line(id="x", answers=["2"])])
    questions, problems = load_set(path)
    assert [(q.id, q.answers) for q in questions] == [("x", ["1"]), ("y", ["636"])]
    assert [(p.line, p.reason) for p in problems] == [(3, "duplicate id 'x'")]


def test_missing_id_gets_its_line_number_and_fields_are_read(tmp_path):
    raw = {"question": " 那推动解决了几个问题？ ", "answers": ["7个"], "type": "followup",
           "history": ["形成了多少条建议？"], "sources": ["zibo.txt"], "all": True}
    questions, problems = load_set(write(tmp_path, [line(id="a"), json.dumps(raw, ensure_ascii=False)]))
    q = questions[1]
    assert problems == []
    assert (q.id, q.question, q.type, q.history, q.sources, q.all) == (
        "line-2", "那推动解决了几个问题？", "followup", ["形成了多少条建议？"], ["zibo.txt"], True)
    assert q.answerable and not questions[0].all


def test_unanswerable_question_has_empty_answers(tmp_path):
    questions, _ = load_set(write(tmp_path, [line(id="u", answers=[], type="unanswerable")]))
    assert not questions[0].answerable


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(("\ufeff" + line(id="a") + "\r\n" + line(id="b") + "\r\n").encode("utf-8"))
    questions, problems = load_set(path)
    assert [q.id for q in questions] == ["a", "b"] and problems == []


def test_non_utf8_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(line(id="a").encode("gbk"))
    with pytest.raises(EvalError) as info:
        load_set(path)
    assert "gbk.jsonl" in str(info.value) and "UTF-8" in str(info.value)


def test_a_set_with_no_usable_question_is_an_error(tmp_path):
    with pytest.raises(EvalError, match=r"no usable questions \(2 broken lines\)"):
        load_set(write(tmp_path, ["not json", "{}"]))
    with pytest.raises(EvalError, match="no usable questions"):
        load_set(write(tmp_path, [""], name="empty.jsonl"))


def test_the_teams_dev_set_loads_cleanly():
    questions, problems = load_set(REPO / "evals" / "sets" / "cppcc_dev.jsonl")
    assert problems == [] and len(questions) == 112
    assert any(not q.answerable for q in questions) and any(q.history for q in questions)
