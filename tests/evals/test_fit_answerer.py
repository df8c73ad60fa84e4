"""The fitting script's pure parts: how every knowledge base is weighed, and how the refusal
threshold is read off held-out judgements."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from evals import fit_answerer
from evals.fit_answerer import bar_figures, best_threshold, calibration, kb_weights


def _judgements(rng, n_answerable: int, n_unanswerable: int):
    """A calibrated judge: an answerable question's answer is right as often as its p says;
    an unanswerable one's never is, and its p runs lower."""
    p_ans = rng.uniform(0.2, 1.0, n_answerable)
    p_un = rng.uniform(0.0, 0.6, n_unanswerable)
    probs = np.concatenate([p_ans, p_un])
    right = np.concatenate([rng.random(n_answerable) < p_ans, np.zeros(n_unanswerable, bool)])
    answerable = np.concatenate([np.ones(n_answerable, bool), np.zeros(n_unanswerable, bool)])
    return probs, right, answerable


def test_the_threshold_is_where_the_worst_of_the_three_figures_is_best():
    probs, right, answerable = _judgements(np.random.default_rng(0), 1500, 500)
    t = best_threshold(probs, right, answerable, np.ones(2000))
    grid = np.linspace(0.05, 0.95, 91)
    worst = np.minimum.reduce(bar_figures(probs[None, :] >= grid[:, None], right, answerable,
                                          np.ones(2000)))
    at_t = worst[np.argmin(abs(grid - t))]
    assert at_t >= worst.max() - 0.01  # read smoothed, so at most a hair below the raw best
    assert worst[0] < at_t - 0.1 and worst[-1] < at_t - 0.1  # neither extreme would do


def test_the_three_figures_are_those_the_metrics_report():
    """bar_figures reads a threshold's answer accuracy, abstain precision and recall exactly as
    evals.metrics.summarize reads them off graded answers."""
    from evals.metrics import summarize

    probs, right, answerable = _judgements(np.random.default_rng(5), 30, 12)
    shown = probs >= 0.4
    grades = [{"answerable": bool(a), "abstained": not s, "correct": bool(s and r) if a else not s,
               "first_hit": 0, "citation_share": None, "untraced": [], "ms": 0.0}
              for s, r, a in zip(shown, right, answerable)]
    metrics = summarize(grades)
    figures = [float(f[0]) for f in bar_figures(shown[None, :], right, answerable, np.ones(42))]
    assert figures == pytest.approx([metrics["answer_accuracy"], metrics["abstain_precision"],
                                     metrics["abstain_recall"]], abs=1e-4)


def test_the_threshold_is_steady_when_the_best_sits_on_a_plateau():
    """Two equally good cuts far apart (the laws' curve was flat from 0.15 to 0.6): resamples
    of the same judgements must not make the threshold jump between them."""
    rng = np.random.default_rng(1)
    probs, right, answerable = _judgements(rng, 160, 40)
    cuts = {round(best_threshold(probs[keep], right[keep], answerable[keep], np.ones(keep.sum())), 2)
            for keep in (rng.random(200) < 0.8 for _ in range(5))}
    assert max(cuts) - min(cuts) <= 0.1, cuts


def test_with_every_question_answerable_nothing_is_refused():
    """Refusing a question the documents answer buys nothing: the lowest threshold."""
    probs = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    right = np.array([False, True, False, True, True])
    answerable = np.ones(5, dtype=bool)
    assert best_threshold(probs, right, answerable, np.ones(5)) == pytest.approx(0.05)


def test_unanswerable_questions_raise_the_threshold():
    probs = np.linspace(0.01, 0.99, 99)
    right = np.zeros(99, dtype=bool)  # nothing shown is ever right…
    answerable = np.zeros(99, dtype=bool)  # …because nothing is answerable: refuse everything
    assert best_threshold(probs, right, answerable, np.ones(99)) >= 0.9


@pytest.mark.parametrize("balance, expected", [(0.0, [1, 1, 1, 1]), (1.0, [2 / 3, 2 / 3, 2 / 3, 2])])
def test_knowledge_bases_weigh_alike_when_balanced(balance, expected, monkeypatch):
    monkeypatch.setattr(fit_answerer, "KB_BALANCE", balance)
    items = [SimpleNamespace(kb=k) for k in ("wiki", "wiki", "wiki", "laws")]
    assert np.allclose(kb_weights(items), expected)


def test_calibration_bands_say_how_often_answers_were_right():
    bands = calibration(np.array([0.1, 0.15, 0.9, 0.95]), np.array([False, True, True, True]))
    assert bands[0] == {"band": "0.0-0.2", "n": 2, "right": 0.5}
    assert bands[-1] == {"band": "0.8-1.0", "n": 2, "right": 1.0}


def test_a_short_answer_belongs_to_the_document_where_it_stands_among_the_questions_words():
    """'44' is in a law's date and in the report's 44家工作室: the question is about the report
    (a question labelled with the wrong document is made unanswerable by leaving out the wrong
    one, and the held-out figures grade a right answer wrong)."""
    from evals.sets import Question
    from ingest.store import DocRecord

    texts = {"doc-a": "2018年3月11日第十三届全国人民代表大会第一次会议通过，第44号公告。",
             "doc-b": "在淄博已有9家,连同44家“政协委员工作室”,以点带面。"}
    records = {"doc-a": DocRecord("doc-a", "中华人民共和国宪法修正案", "/corpus/doc-a.txt", "a",
                                  version="v", kind="law"),
               "doc-b": DocRecord("doc-b", "淄博政协这一年", "/corpus/doc-b.txt", "b",
                                  version="v", kind="news")}
    q = Question(id="q", question="淄博有多少家“政协委员工作室”？", answers=["44"])
    assert fit_answerer.topic_sources(q, records, texts.get) == ["doc-b.txt"]
    none = Question(id="n", question="淄博有多少家书店？", answers=["7"])
    assert fit_answerer.topic_sources(none, records, texts.get) == []


def test_fold_models_are_saved_and_read_back_or_refused_with_what_is_missing(tmp_path):
    """--fold-models: each fold's selector, judges and thresholds saved in one folder, read back
    to answer again without refitting; an empty folder means "fit and save"."""
    from bot.answering.model import Scorer

    from evals.fit_answerer import load_fold_models, save_fold_models

    def linear(w: float) -> Scorer:
        return Scorer(("a", "b"), "linear", weights=np.array([w, -w]), bias=w / 2)

    folder = tmp_path / "folds"
    assert load_fold_models(folder, 2) is None  # nothing saved yet: fit and save
    save_fold_models(folder, {0: linear(1.0), 1: linear(2.0)},
                     {0: (linear(3.0), (("law", linear(5.0)),)), 1: (linear(4.0), ())},
                     {0: 0.3, 1: 0.25}, {0: (("law", 0.2),), 1: ()})
    selectors, judges, thresholds, by_genre = load_fold_models(folder, 2)
    x = np.array([[1.0, 0.5]])
    assert selectors[1].raw(x)[0] == pytest.approx(2.0) and judges[0][0].raw(x)[0] == pytest.approx(3.0)
    assert dict(judges[0][1])["law"].raw(x)[0] == pytest.approx(5.0) and judges[1][1] == ()
    assert thresholds == {0: 0.3, 1: 0.25} and by_genre == {0: (("law", 0.2),), 1: ()}
    with pytest.raises(SystemExit, match="fold-2.json"):  # saved with 2 folds, asked for 3
        load_fold_models(folder, 3)
    (folder / "fold-1.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="not fold models"):
        load_fold_models(folder, 2)


def test_a_genres_own_judge_never_reads_what_it_leaves_unread():
    """Laws' judge is fitted on the same rows with `UNREAD` masked: where the label follows
    unsaid alone, the shared judge splits on it and laws' judge never does; each row is read
    by its genre's judge."""
    from bot.answering.decision import JUDGE_FEATURES
    from evals.fit_answerer import UNREAD, fit_judges, judge_probs

    rng = np.random.default_rng(3)
    rows = rng.normal(size=(400, len(JUDGE_FEATURES)))
    unsaid = [JUDGE_FEATURES.index(f) for f in UNREAD["law"]]
    labels = rows[:, unsaid[0]] < 0
    judge, own = fit_judges(rows, labels, np.ones(len(rows)))
    law = dict(own)["law"]
    assert set(unsaid) & set(judge.feature.tolist())
    assert not set(unsaid) & set(law.feature.tolist())
    genres = ["law", "other"]
    probs = judge_probs(judge, own, rows[:2], genres)
    assert probs[0] == pytest.approx(1 / (1 + np.exp(-law.raw(rows[:1])[0])))
    assert probs[1] == pytest.approx(1 / (1 + np.exp(-judge.raw(rows[1:2])[0])))
