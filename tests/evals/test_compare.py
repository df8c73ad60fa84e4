"""Comparing two held-out fit reports: the figures set by set and whether the moves are chance."""

from __future__ import annotations

import json

import pytest

from evals.compare import compare_fit_reports
from evals.fit_answerer import intervals, main


def fit_report(failed: list[str], n: int = 40, accuracy: float = 0.9, **pooled) -> dict:
    figures = {"n": n, "answer_accuracy": accuracy, "abstain_precision": 0.9,
               "abstain_recall": 0.8, "answer_accuracy_95": [0.85, 0.95],
               "abstain_recall_95": None} | pooled
    return {"held_out": {"set.jsonl": {"pooled": figures, "folds": {}, "failed_ids": failed,
                                       "failed": [{"id": i} for i in failed]}}}


def test_twelve_fixed_and_two_broken_is_beyond_chance_and_seven_to_five_is_not():
    before = fit_report([f"q{i}" for i in range(14)])
    after = fit_report(["q0", "q1", "x0", "x1"], accuracy=0.95)  # 12 fixed, 2 newly wrong
    lines = compare_fit_reports(before, after)
    assert lines[0] == "set.jsonl (n 40 -> 40)"
    assert "  answer_accuracy    0.9000 -> 0.9500  (+0.0500)  [0.850-0.950]  [0.850-0.950]" in lines
    assert "  abstain_recall     0.8000 -> 0.8000  (+0.0000)" in lines  # no interval: none shown
    assert "  12 improved, 2 regressed: p = 0.0129, beyond chance" in lines
    after = fit_report([f"q{i}" for i in range(7, 14)] + [f"x{i}" for i in range(5)])
    assert "  7 improved, 5 regressed: p = 0.774, within chance" in compare_fit_reports(before,
                                                                                          after)


def test_a_report_with_its_failures_cut_at_400_is_not_tested():
    cut = {"held_out": {"set.jsonl": {"pooled": fit_report([])["held_out"]["set.jsonl"]["pooled"],
                                      "failed": [{"id": f"q{i}"} for i in range(400)]}}}
    lines = compare_fit_reports(cut, fit_report(["q1"]))
    assert any(line.startswith("  moved: not comparable") for line in lines)


def test_intervals_are_per_share_and_by_document():
    right = [{"answerable": True, "correct": True, "abstained": False, "doc": f"a{i}"}
             for i in range(6)]
    refused = [{"answerable": True, "correct": False, "abstained": True, "doc": f"b{i}"}
               for i in range(6)]
    unanswerable = [{"answerable": False, "correct": True, "abstained": True, "doc": "c"}]
    got = intervals(right + refused + unanswerable)
    lo, hi = got["answer_accuracy_95"]  # twelve documents, half right
    assert lo < 0.5 < hi
    lo, hi = got["abstain_precision_95"]  # seven refusals, one of them right
    assert lo == 0.0 and 1 / 7 < hi < 1.0
    assert got["abstain_recall_95"] is None  # one document of unanswerable questions


def test_the_fit_script_compares_two_reports_and_refuses_a_file_that_is_not_one(tmp_path, capsys):
    a, b, bad = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "bad.json"
    a.write_text(json.dumps(fit_report(["q1", "q2", "q3"])), encoding="utf-8")
    b.write_text(json.dumps(fit_report([])), encoding="utf-8")
    bad.write_text(json.dumps({"metrics": {}}), encoding="utf-8")
    assert main(["--compare", str(a), str(b)]) == 0
    assert "3 improved, 0 regressed: p = 0.25, within chance" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="bad.json: not a fit report"):
        main(["--compare", str(a), str(bad)])
    with pytest.raises(SystemExit):  # neither sets to fit nor reports to compare
        main([])
    assert "give --set KB_DIR SET.jsonl" in capsys.readouterr().err
