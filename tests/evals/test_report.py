"""The HTML report, its charts and the run comparison, from small fake runs (no bot needed)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from evals import charts
from evals.compare import compare_runs, format_comparison, load_run, metric_deltas, passed
from evals.errors import EvalError
from evals.metrics import METRIC_KEYS
from evals.report import fail_reasons, render_html, sorted_rows, type_rows, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
XSS = "<script>alert('x')</script>"


def row(qid, *, correct, answerable=True, abstained=False, untraced=(), question="问题？",
        answer="答案", gold=("636",), type_="number", ms=100.0, first_hit=1, history=(),
        citations=None):
    return {"id": qid, "question": question, "answer": answer, "gold": list(gold) if answerable
            else [], "history": list(history), "all": False, "type": type_,
            "answerable": answerable, "correct": correct, "abstained": abstained,
            "first_hit": first_hit if answerable else 0, "untraced": list(untraced), "ms": ms,
            "citation_share": 1.0 if correct and answerable else None, "mode": "extractive",
            "note": "", "verified": True, "retrieved": [],
            "citations": citations if citations is not None else
            [{"n": 1, "title": "淄博市政协工作回顾", "quote": "全年提案636件", "heading": "",
              "date": "2025-12-31", "source": "zibo.txt"}]}


METRICS = {"n": 5, "answer_accuracy": 0.5, "abstain_precision": 1.0, "abstain_recall": 0.5,
           "hit_at_1": 0.75, "hit_at_5": 1.0, "mrr": 0.8, "citation_precision": 0.9,
           "unverified_rate": 0.0, "p50_ms": 120.0, "p95_ms": 900.0}


@pytest.fixture
def run():
    return {"set": "tiny.jsonl", "mode": "extractive", "started": "2026-01-01T10:00:00+08:00",
            "wall_s": 3.2, "problems": [{"line": 4, "reason": "not valid JSON"}],
            "metrics": dict(METRICS),
            "results": [
                row("p1", correct=True, ms=90),
                row("f1", correct=False, question=f"恶意{XSS}问题", answer=f"答{XSS}",
                    history=["<b>上一问</b>"], first_hit=0, ms=300),
                row("p2", correct=True, answerable=False, abstained=True, type_="unanswerable",
                    answer="知识库中没有找到相关内容。", citations=[]),
                row("f2", correct=True, untraced=["637"], type_="fact", ms=900),  # correct, but
                row("f3", correct=False, answerable=False, type_="unanswerable",  # unverified
                    citations=[{"n": 1, "title": "<img src=x onerror=alert(1)>",
                                "quote": "</td><script>evil()</script>"}]),
            ]}


# ---- report ----------------------------------------------------------------------------------

def test_report_files_exist_and_pngs_are_valid(run, tmp_path):
    index = write_report(run, tmp_path / "report")
    folder = index.parent
    assert index.name == "index.html" and index.exists()
    for name in ("by_type.png", "latency.png"):
        data = (folder / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000
        assert f'<img src="{name}"' in index.read_text(encoding="utf-8")  # relative path
    saved = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert saved["metrics"] == METRICS and len(saved["results"]) == 5


def test_failures_are_sorted_first_and_badged(run):
    assert [r["id"] for r in sorted_rows(run["results"])] == ["f1", "f2", "f3", "p1", "p2"]
    page = render_html(run)
    order = [m.group(1) for m in re.finditer(r'<tr class="(?:ok|failed)" id="q-(\w+)"', page)]
    assert order == ["f1", "f2", "f3", "p1", "p2"]
    assert page.count("badge fail") == 3 and page.count("badge pass") == 2


def test_document_question_and_answer_text_is_escaped(run):
    page = render_html(run)
    assert "<script" not in page.lower()
    assert "<img src=x" not in page and "<b>上一问</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;/td&gt;&lt;script&gt;evil()&lt;/script&gt;" in page
    assert "&lt;b&gt;上一问&lt;/b&gt;" in page  # the follow-up's history is shown, escaped


def test_page_holds_metrics_meanings_skipped_lines_gold_and_citations(run):
    page = render_html(run)
    for key in METRIC_KEYS:
        assert f"<code>{key}</code>" in page
    assert "50.0%" in page and "900 ms" in page
    assert "line 4" in page and "not valid JSON" in page
    assert '<span class="gold">636</span>' in page
    assert "淄博市政协工作回顾" in page and "全年提案636件" in page
    assert "637" in page  # the unverified figure is named


def test_fail_reasons_and_pass_verdict():
    assert passed(row("a", correct=True)) and fail_reasons(row("a", correct=True)) == []
    assert not passed(row("b", correct=True, untraced=["5"]))
    assert any("figures" in r for r in fail_reasons(row("b", correct=True, untraced=["5"])))
    assert any("declined" in r for r in fail_reasons(row("c", correct=False, abstained=True)))
    assert any("no answer" in r for r in fail_reasons(row("d", correct=False, answerable=False)))
    assert any("no relevant" in r for r in fail_reasons(row("e", correct=False, first_hit=0)))


def test_type_rows(run):
    by_type = {t["type"]: t for t in type_rows(run["results"])}
    assert by_type["number"]["n"] == 2 and by_type["number"]["pass_rate"] == 0.5
    assert by_type["unanswerable"]["hit_at_5"] is None
    assert by_type["unanswerable"]["abstain_rate"] == 0.5
    assert by_type["fact"]["pass_rate"] == 0.0


def test_charts_fall_back_to_english_without_a_cjk_font(run, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    assert charts.type_label("数字", 3, cjk=False) == "type 3"
    assert charts.type_label("number", 1, cjk=False) == "number"
    rows = type_rows(run["results"]) + [{"type": "数字", "n": 1, "pass_rate": 1.0,
                                         "abstain_rate": 0.0, "hit_at_5": None,
                                         "citation_precision": None}]
    out = charts.by_type_chart(rows, tmp_path / "t.png")
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert charts.latency_chart([], tmp_path / "l.png").read_bytes().startswith(PNG_MAGIC)


# ---- compare ---------------------------------------------------------------------------------

def test_compare_finds_improved_regressed_unchanged_and_deltas(run):
    after = copy.deepcopy(run)
    by_id = {r["id"]: r for r in after["results"]}
    by_id["f1"].update(correct=True, answer="636件")        # fixed
    by_id["p1"].update(correct=False, answer="不知道")        # broken
    by_id["f3"].update(answer="另一个错误答案")               # still failing, new text
    after["results"].append(row("new", correct=True))
    after["results"] = [r for r in after["results"] if r["id"] != "p2"]
    after["metrics"].update(answer_accuracy=0.75, p95_ms=800.0, unverified_rate=0.1)

    cmp = compare_runs(run, after)
    assert [i["id"] for i in cmp["improved"]] == ["f1"]
    assert [i["id"] for i in cmp["regressed"]] == ["p1"]
    assert sorted(i["id"] for i in cmp["unchanged"]) == ["f2", "f3"]
    assert {i["id"]: i["answer_changed"] for i in cmp["unchanged"]} == {"f2": False, "f3": True}
    assert [i["id"] for i in cmp["only_a"]] == ["p2"] and [i["id"] for i in cmp["only_b"]] == ["new"]
    d = cmp["deltas"]
    assert d["answer_accuracy"] == {"a": 0.5, "b": 0.75, "delta": 0.25, "better": True}
    assert d["p95_ms"]["better"] is True          # lower latency is better
    assert d["unverified_rate"]["better"] is False  # higher unverified rate is worse
    assert d["hit_at_1"]["better"] is None

    text = "\n".join(format_comparison(cmp))
    assert "Improved (fail → pass): 1" in text and "Regressed (pass → fail): 1" in text
    assert "f1" in text and "p1" in text and "Only in A: p2" in text


def test_metric_deltas_tolerate_missing_values():
    d = metric_deltas({"n": 3}, {"n": 4, "mrr": 0.5})
    assert d["n"]["delta"] == 1 and d["n"]["better"] is None
    assert d["mrr"] == {"a": None, "b": 0.5, "delta": None, "better": None}


def test_load_run_reads_a_file_or_a_report_folder_and_refuses_others(run, tmp_path):
    write_report(run, tmp_path / "r")
    assert load_run(tmp_path / "r")["set"] == "tiny.jsonl"
    assert load_run(tmp_path / "r" / "results.json")["metrics"] == METRICS
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(EvalError, match="not a saved run"):
        load_run(tmp_path / "bad.json")
    with pytest.raises(EvalError, match="no saved run"):
        load_run(tmp_path / "missing.json")
