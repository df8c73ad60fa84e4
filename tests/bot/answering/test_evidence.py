"""Stage 2, evidence: every sentence of the retrieved passages is a candidate with features in
one fixed order; and the fitted model that reads them (numpy inference of exported trees)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.answering.analysis import analyze
from bot.answering.decision import asked_events, history_line
from bot.answering.evidence import (FEATURES, Source, articles_to_follow, cited_articles, gather,
                                    with_referrals)
from bot.answering.model import AnswerModel, Scorer, shipped_model, trees_from_lightgbm
from bot.retrieval import Passage

TITLE = "某市政协这一年"
OPENING = ("全年636件提案承载民意，167场次协商激荡智慧，24次领导同志作出肯定性批示。"
           "数字背后，是一份厚重答卷。")
HISTORY = ("中华人民共和国国旗法\n"
           "1990年6月28日 第七届全国人民代表大会常务委员会第十四次会议通过\n"
           "2009年8月27日 第十一届全国人民代表大会常务委员会第十次会议第一次修正\n"
           "2020年10月17日 第十三届全国人民代表大会常务委员会第二十二次会议第二次修正")


def source(text: str, title: str = TITLE, index: int = 0, doc: str = "d", header=False):
    p = Passage(f"{doc}-{index}", text, {"doc_id": doc, "title": title}, score=1.0 / (1 + index))
    return Source(index, text, title, doc, p, header=header)


def feature(c, name):
    return c.features[FEATURES.index(name)]


def test_every_sentence_of_four_characters_or_more_is_a_candidate_with_every_feature():
    ev = gather(analyze("开展了多少场次协商？"), [source(OPENING), source("好。", index=1)], set())
    assert [c.quote for c in ev.candidates] == ["全年636件提案承载民意，167场次协商激荡智慧，24次领导同志作出肯定性批示。",
                                                 "数字背后，是一份厚重答卷。"]
    assert all(len(c.features) == len(FEATURES) for c in ev.candidates)


def test_features_say_which_sentence_holds_the_asked_figure_and_unit():
    ev = gather(analyze("开展了多少场次协商？"), [source(OPENING)], set())
    figure, prose = ev.candidates
    assert feature(figure, "fits_kind") == 1.0 and feature(prose, "fits_kind") == 0.0
    assert feature(figure, "unit") == 1.0 and feature(prose, "unit") == 0.0
    assert feature(figure, "cover_rest_gap") == 0.0 > feature(prose, "cover_rest_gap")


def test_a_sentence_about_another_body_is_marked_as_such():
    ev = gather(analyze("全国政协每届任期几年？"),
                [source("全国人民代表大会每届任期五年。", "宪法"),
                 source("中国人民政治协商会议全国委员会每届任期五年。", "政协章程", index=1, doc="e")],
                set())
    assert [feature(c, "body") for c in ev.candidates] == [-1.0, 1.0]


def test_a_list_item_is_read_with_the_sentence_that_introduces_it():
    ev = gather(analyze("哪些场合应当奏唱国歌？"),
                [source("下列场合应当奏唱国歌：\n（一）全国人民代表大会会议的开幕；", "国歌法")], set())
    item = ev.candidates[-1]
    assert item.lead_text == "下列场合应当奏唱国歌：" and feature(item, "has_lead") == 1.0


def test_without_stored_sentence_vectors_similarity_is_unknown_not_guessed():
    ev = gather(analyze("开展了多少场次协商？"), [source(OPENING)], set())
    assert all(feature(c, "sentence_known") == 0.0 == feature(c, "sentence_sim")
               for c in ev.candidates)


# ---- a law's history ------------------------------------------------------------------------------
@pytest.mark.parametrize("question, date", [
    ("国旗法是哪天通过的？", "1990年6月28日"),  # 通过: the adoption
    ("国旗法最近一次修正是哪天？", "2020年10月17日"),  # the latest amendment
    ("国旗法第一次修正是哪一年？", "2009年8月27日"),  # the earliest
    ("国旗法是哪天修正的？", "2020年10月17日"),  # no order: the latest
    ("国旗法修正是哪天通过的？", "2020年10月17日"),  # an amendment's 通过 is the amendment
])
def test_history_line_is_the_line_of_the_event_asked(question, date):
    line = history_line([source(HISTORY, "中华人民共和国国旗法", header=True)], question,
                        analyze(question).order)
    assert line is not None and line.quote.startswith(date)


def test_history_line_without_a_dated_line_is_none_and_the_event_is_the_nearest_asked():
    assert history_line([source("中华人民共和国国旗法", header=True)], "国旗法是哪天通过的？", "") is None
    assert asked_events("现在施行的国旗法是哪天修订的？") == ["修订"]


# ---- the model ----------------------------------------------------------------------------------
def test_exported_trees_score_as_lightgbm_does_and_survive_a_round_trip(tmp_path):
    import lightgbm as lgb
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, deterministic=True,
                               force_row_wise=True, n_jobs=1).fit(x, y)
    scorer = trees_from_lightgbm(model.booster_.dump_model(), ("a", "b", "c"))
    assert np.allclose(scorer.raw(x), model.booster_.predict(x, raw_score=True), atol=1e-9)
    linear = Scorer(("a", "b", "c"), "linear", weights=np.array([1.0, 0.0, 0.0]), bias=0.5)
    saved = AnswerModel(scorer, linear, 0.4, {"fitted_by": "test"})
    saved.save(tmp_path / "m.json")
    loaded = AnswerModel.load(tmp_path / "m.json")
    assert np.allclose(loaded.selector.raw(x), scorer.raw(x))
    assert np.allclose(loaded.judge.raw(x), x[:, 0] + 0.5) and loaded.threshold == 0.4


def test_exported_trees_send_a_feature_not_read_where_lightgbm_does(tmp_path):
    """A NaN (a feature not read for the row: what a law's passage leaves unsaid) goes down
    each split the way LightGBM fitted it, also after saving; a file from before missing values
    reads it as 0."""
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    x[:150, 1] = np.nan
    y[:150] = (x[:150, 0] > 1).astype(int)  # rows without b follow a rule of their own
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, deterministic=True,
                               force_row_wise=True, n_jobs=1).fit(x, y)
    scorer = trees_from_lightgbm(model.booster_.dump_model(), ("a", "b", "c"))
    expected = model.booster_.predict(x, raw_score=True)
    assert np.allclose(scorer.raw(x), expected, atol=1e-9)
    AnswerModel(scorer, scorer, 0.5, {}).save(tmp_path / "m.json")
    assert np.allclose(AnswerModel.load(tmp_path / "m.json").judge.raw(x), expected, atol=1e-9)
    laws = AnswerModel(scorer, scorer, 0.5, {}, judges=(("law", scorer),))
    laws.save(tmp_path / "laws.json")
    loaded = AnswerModel.load(tmp_path / "laws.json")
    assert loaded.judge_for("law") is not loaded.judge and loaded.judge_for("news") is loaded.judge
    assert np.allclose(loaded.judge_for("law").raw(x), expected, atol=1e-9)
    old = scorer.to_dict()
    old["nodes"] = old["nodes"][:5]
    assert np.allclose(Scorer.from_dict(old).raw(np.nan_to_num(x[150:])), expected[150:],
                       atol=1e-9)


def test_the_shipped_model_reads_the_features_evidence_makes_and_says_how_it_was_fitted():
    model = shipped_model()
    assert model.selector.features == FEATURES
    assert model.judge.features[: len(FEATURES)] == FEATURES
    assert 0.0 < model.threshold < 1.0
    assert model.about["fitted_by"] == "python -m evals.fit_answerer"
    assert model.about["held_out"]  # the held-out figures it scored travel with it


LAW = "某某保护条例"
FORBIDS = "第二十六条 禁止占用、拆除、损坏下列监测设施：（一）监测仪器、设备和装置；"
PENALTY = ("第三十六条 有本条例第二十六条、第二十八条所列行为之一的，给予警告，责令停止违法行为，"
           "对个人可以处5000元以下的罚款，对单位处2万元以上10万元以下的罚款。")


def article(text: str, number: str, index: int = 0, score: float = 1.0) -> Passage:
    return Passage(f"law-{number}", text, {"doc_id": "law", "title": LAW, "article": number},
                   score=score, dense_rank=index + 1)


@pytest.mark.parametrize("text, cited", [
    (PENALTY, {"第二十六条", "第二十八条"}),
    ("违反本法第三十一条第三款规定，生产、经营的，处罚款。", {"第三十一条"}),
    ("依照本办法第十条和第十二条的规定处理。", {"第十条", "第十二条"}),
    ("第二十六条 禁止占用监测设施。", set()),  # its own heading cites nothing
    ("依照《刑法》第二十条的规定。", set()),  # another law's article is not this law's
])
def test_a_provision_cites_the_articles_of_its_own_law_it_names(text, cited):
    assert cited_articles(text) == cited


def test_the_provision_citing_a_retrieved_article_is_read_with_it_at_its_rank():
    forbids = Source(0, FORBIDS, f"{LAW} 第二十六条", "law", article(FORBIDS, "第二十六条"))
    other = Source(1, "第三条 国家保护监测设施。", f"{LAW} 第三条",
                   "law", article("第三条 国家保护监测设施。", "第三条", 1, 0.5))
    assert articles_to_follow([forbids, other]) == [("law", "第二十六条"), ("law", "第三条")]
    unrelated = article("第四十条 本条例自公布之日起施行。", "第四十条")
    out = with_referrals([forbids, other], {("law", "第二十六条"): [
        article(PENALTY, "第三十六条", score=0.0), unrelated]})
    assert [s.passage.chunk_id for s in out] == ["law-第二十六条", "law-第三条", "law-第三十六条"]
    added = out[-1]
    assert added.index == 0 and FORBIDS in added.context and added.passage.score == 1.0
    # its sentences now cover the act asked about, and the fine is the best-covered figure
    q = analyze("个人擅自拆除监测仪器，最多可以罚多少钱？", [], lambda t: 1, 100)
    ev = gather(q, out, set())
    fine = next(c for c in ev.candidates if "5000元" in c.quote)
    assert feature(fine, "terms_framed") > 0.5 and feature(fine, "unit") == 1.0


def test_a_retrieved_citing_provision_gains_the_context_and_keeps_its_rank():
    forbids = Source(1, FORBIDS, f"{LAW} 第二十六条", "law", article(FORBIDS, "第二十六条", 1))
    penalty = Source(0, PENALTY, f"{LAW} 第三十六条", "law", article(PENALTY, "第三十六条"))
    out = with_referrals([penalty, forbids], {("law", "第二十六条"): [
        article(PENALTY, "第三十六条")]})
    assert [s.index for s in out] == [0, 1] and FORBIDS in out[0].context
    assert with_referrals([penalty, forbids], {}) == [penalty, forbids]
