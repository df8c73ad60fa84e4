"""The pure metric functions, on tiny literal questions and answers."""

from __future__ import annotations

import pytest

from evals.metrics import (METRIC_KEYS, answer_correct, citation_share, first_hit, grade,
                           interval_by_document, norm, sign_test,
                           percentile, shown_untraced, summarize)
from evals.sets import Question


def q(answers, *, qid="q1", all_=False, sources=(), type_=""):
    return Question(id=qid, question="问题？", answers=list(answers), all=all_,
                    sources=list(sources), type=type_)


def cite(quote, title="淄博市政协2025年工作回顾", passage=""):
    return {"n": 1, "title": title, "quote": quote, "heading": "", "passage": passage}


def result(answer, *, abstained=False, verified=True, citations=(), retrieved=(), ms=10.0):
    return {"answer": answer, "abstained": abstained, "verified": verified,
            "citations": list(citations), "retrieved": list(retrieved), "ms": ms}


# ---- norm / answer_correct -------------------------------------------------------------------

def test_norm_ignores_width_spaces_thousands_separators_markers_and_case():
    assert norm("全年 ６３６ 件[1]") == "全年636件"
    assert norm("6,000万元") == norm("6，000万元") == "6000万元"
    assert norm("ABC") == "abc"
    assert norm("1,23") == "1,23"  # not a thousands group: kept


@pytest.mark.parametrize("answer,ok", [
    ("全年共提交提案636件[1]。", True),
    ("全年共提交提案６３６件。", True),       # full-width digits
    ("全年共提交提案 6 3 6 件。", True),      # spaces
    ("全年共提交提案637件。", False),
    ("", False),
])
def test_answer_correct_any_gold(answer, ok):
    assert answer_correct(q(["636", "六百三十六"]), answer) is ok


def test_answer_correct_thousands_separator_in_answer_or_gold():
    assert answer_correct(q(["6000万"]), "支持资金6,000万元。")
    assert answer_correct(q(["6,000万"]), "支持资金6000万元。")


def test_answer_correct_all_requires_every_gold():
    both = q(["十五日以下拘留", "警告"], all_=True)
    assert answer_correct(both, "处警告或者十五日以下拘留")
    assert not answer_correct(both, "处十五日以下拘留")
    assert answer_correct(q(["十五日以下拘留", "警告"]), "处十五日以下拘留")  # any


# ---- retrieval -------------------------------------------------------------------------------

def test_first_hit_by_gold_text_or_gold_source_and_zero_when_none():
    rows = [{"text": "无关内容", "source": "/x/other.md", "doc_id": "d0", "title": "其他"},
            {"text": "共提交提案636件", "source": "/x/a.txt", "doc_id": "d1", "title": "A"},
            {"text": "……", "source": "/corpus/zibo.txt", "doc_id": "d2", "title": "Z"}]
    assert first_hit(q(["636"]), rows) == 2
    assert first_hit(q(["999"], sources=["zibo.txt"]), rows) == 3  # by file name of source
    assert first_hit(q(["999"], sources=["d2"]), rows) == 3        # by doc id
    assert first_hit(q(["999"], sources=["Z"]), rows) == 3         # by title
    assert first_hit(q(["999"]), rows) == 0
    assert first_hit(q(["636"]), []) == 0


def test_citation_share():
    question = q(["636"])
    assert citation_share(question, [cite("提案636件"), cite("协商167场"), cite("6 3 6")]) == \
        pytest.approx(2 / 3)
    assert citation_share(question, []) == 0.0


# ---- the figure check ------------------------------------------------------------------------

def test_shown_untraced_lists_figures_missing_from_citations():
    good = result("全年提案636件[1]。", citations=[cite("全年共提交提案636件。")])
    bad = result("全年提案637件[1]。", citations=[cite("全年共提交提案636件。")])
    assert shown_untraced(good) == []
    assert shown_untraced(bad) == ["637"]


def test_shown_untraced_reads_the_passage_and_ignores_declined_or_flagged_answers():
    in_passage = result("提案636件", citations=[cite("见下文", passage="全年提案636件")])
    assert shown_untraced(in_passage) == []
    assert shown_untraced(result("提案637件", abstained=True)) == []
    assert shown_untraced(result("提案637件", verified=False)) == []  # shown as unverified


def test_shown_untraced_thousands_separator_is_the_same_figure():
    r = result("支持资金6,000万元[1]", citations=[cite("工信部专项资金6000万元支持")])
    assert shown_untraced(r) == []


# ---- percentile / grade / summarize ----------------------------------------------------------

def test_percentile_interpolates_and_handles_edges():
    assert percentile([], 50) == 0.0
    assert percentile([7], 95) == 7
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 0, 20], 100) == 20
    assert percentile(list(range(101)), 95) == pytest.approx(95)


def test_grade_answerable_and_unanswerable():
    g = grade(q(["636"], type_="number"),
              result("提案636件[1]", citations=[cite("提案636件")],
                     retrieved=[{"text": "提案636件", "source": "a"}]))
    assert (g["correct"], g["first_hit"], g["citation_share"], g["untraced"]) == (True, 1, 1.0, [])
    declined = grade(q([]), result("知识库中没有找到相关内容。", abstained=True))
    assert declined["correct"] and declined["type"] == "unanswerable"
    assert declined["citation_share"] is None and declined["first_hit"] == 0
    answered = grade(q([]), result("秘书长是张三", citations=[cite("张三")]))
    assert not answered["correct"]
    missed = grade(q(["636"]), result("知识库中没有找到相关内容。", abstained=True))
    assert not missed["correct"] and missed["citation_share"] is None


def rows():
    """Four graded questions covering every branch: right, declined-wrongly, declined-rightly,
    answered-the-unanswerable (with a figure not in its citations)."""
    right = grade(q(["636"], qid="a"),
                  result("提案636件", citations=[cite("提案636件"), cite("协商167场")],
                         retrieved=[{"text": "提案636件"}], ms=100))
    missed = grade(q(["44"], qid="b"),
                   result("没有找到", abstained=True, retrieved=[{"text": "x"}, {"text": "44家"}],
                          ms=200))
    declined = grade(q([], qid="c"), result("没有找到", abstained=True, ms=300))
    wrong = grade(q([], qid="d"), result("常住人口470万", citations=[cite("人口众多")], ms=400))
    return [right, missed, declined, wrong]


def test_summarize_every_metric():
    m = summarize(rows())
    assert tuple(m) == METRIC_KEYS
    assert m["n"] == 4
    assert m["answer_accuracy"] == 0.5        # a right, b declined
    assert m["abstain_precision"] == 0.5      # declined b (answerable) and c (not)
    assert m["abstain_recall"] == 0.5         # c declined, d answered
    assert m["hit_at_1"] == 0.5               # a at 1, b at 2
    assert m["hit_at_5"] == 1.0
    assert m["mrr"] == 0.75                   # (1 + 1/2) / 2
    assert m["citation_precision"] == 0.5     # only a has answered-with-citations: 1 of 2
    assert m["unverified_rate"] == 0.5        # a and d shown; d's 470万 untraced
    assert m["p50_ms"] == 250.0
    assert m["p95_ms"] == 385.0


def test_summarize_without_unanswerable_questions_or_abstentions():
    right = rows()[0]
    m = summarize([right])
    assert m["abstain_recall"] == 1.0 and m["abstain_precision"] == 1.0  # nothing went wrong
    assert m["answer_accuracy"] == 1.0 and m["unverified_rate"] == 0.0


def test_summarize_only_unanswerable_and_empty():
    m = summarize([rows()[2]])
    assert m["answer_accuracy"] == 1.0 and m["hit_at_1"] == 1.0 and m["mrr"] == 1.0
    assert m["abstain_recall"] == 1.0 and m["abstain_precision"] == 1.0
    empty = summarize([])
    assert empty["n"] == 0 and empty["p50_ms"] == 0.0


def test_unverified_rate_is_zero_when_every_answer_is_declined():
    assert summarize([rows()[2]])["unverified_rate"] == 0.0


def test_sign_test_is_the_exact_two_sided_binomial_over_the_questions_that_moved():
    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 0) == sign_test(0, 3) == 0.25  # 2 x (1/2)^3
    assert sign_test(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096)  # 0.0386: beyond chance
    assert sign_test(12, 8) == pytest.approx(0.5034, abs=1e-4)  # a few more up than down: chance
    assert sign_test(5, 5) == 1.0


def test_interval_by_document_resamples_whole_documents():
    # five documents each all right or all wrong: a question-level resample would be narrow
    correct = [i < 30 for i in range(50)]  # documents d0-d2 right, d3-d4 wrong
    docs = [f"d{i // 10}" for i in range(50)]
    lo, hi = interval_by_document(correct, docs)
    assert lo <= 0.2 and hi >= 0.9  # five documents drawn again can be mostly either kind
    spread = [i % 2 == 0 for i in range(100)]  # every document half right
    assert interval_by_document(spread, [f"d{i // 2}" for i in range(100)]) == (0.5, 0.5)
    assert interval_by_document(correct, docs) == interval_by_document(correct, docs)  # seeded


def test_too_few_documents_give_no_interval():
    assert interval_by_document([True, False] * 5, ["report"] * 10) is None
    assert interval_by_document([], []) is None
