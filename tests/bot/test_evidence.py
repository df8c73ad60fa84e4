"""Abstention checks: evidence on the right topic can still be about another body, place, year
or law version, miss the thing asked about, hold only the question's own figure, or count in
another unit. Each check says why in words a member can read; '' means the evidence holds."""

from __future__ import annotations

from dataclasses import dataclass

from bot.evidence import Evidence, mismatch, off_focus, only_stated, wrong_unit
from bot.question import QuestionInfo, analyze

ZIBO_OPENING = "全年636件提案承载民意,167场次协商激荡智慧"
ZIBO_TITLE = "淄博政协这一年|以实干实绩交出履职新答卷"
FLAG_HISTORY = ("1990年6月28日 第七届全国人民代表大会常务委员会第十四次会议通过\n"
                "2009年8月27日 第十一届全国人民代表大会常务委员会第十次会议第一次修正\n"
                "2020年10月17日 第十三届全国人民代表大会常务委员会第二十二次会议第二次修正")


def evidence(sentences: str = "", passages: str | None = None, titles: str = "", *,
             doc_years=(), doc_texts: str = "", doc_kinds=(), version_years=(),
             history_years=(), doc_titles=()) -> Evidence:
    return Evidence(sentences=sentences, passages=sentences if passages is None else passages,
                    titles=titles, doc_years=set(doc_years), doc_texts=doc_texts,
                    doc_kinds=set(doc_kinds), version_years=set(version_years),
                    history_years=set(history_years), doc_titles=tuple(doc_titles))


def zibo(sentences: str = ZIBO_OPENING) -> Evidence:
    return evidence(sentences, titles=ZIBO_TITLE, doc_years={2025},
                    doc_texts="淄博市政协奏出的2025年“履职乐章”。" + sentences, doc_kinds={"news"})


@dataclass
class Quote:
    """What only_stated and wrong_unit read of a pick: its quote."""

    quote: str


# ---- mismatch: bodies --------------------------------------------------------------------------
def test_evidence_about_another_body_does_not_answer():
    q = analyze("全国政协每届任期几年？")
    ev = evidence("全国人民代表大会每届任期五年。", titles="中华人民共和国宪法 第六十条",
                  doc_kinds={"law"})
    assert mismatch(q, ev) == "资料说的是人大，没有关于问题中“政协”的内容"


def test_evidence_about_the_body_asked_matches():
    q = analyze("全国人大每届任期几年？")
    ev = evidence("全国人民代表大会每届任期五年。", titles="中华人民共和国宪法", doc_kinds={"law"})
    assert mismatch(q, ev) == ""


def test_a_body_named_only_for_comparison_is_not_required():
    q = analyze("像人大代表那样，政协委员有没有任期？")
    assert q.bodies == ["政协"]
    assert "人大" in mismatch(q, evidence("全国人民代表大会每届任期五年。", titles="宪法"))


def test_evidence_naming_no_body_at_all_is_not_refused_for_the_body():
    q = analyze("全国政协机关所在地每天升挂国旗吗？")
    assert mismatch(q, evidence("国旗应当早晨升起，傍晚降下。", titles="国旗法")) == ""


def test_a_national_question_is_not_answered_by_a_local_report_that_names_its_place_once():
    # the sentence says just '在淄博' (no 市), the report's opening says 淄博市政协
    q = analyze("全国政协现在一共设了多少个界别？")
    local = zibo("像这样的“界别同心汇”,在淄博已有9家")
    assert mismatch(q, local) == "问题问的是全国层面，资料说的是淄博的情况"
    national = evidence("全国政协设34个界别", titles="全国政协概况", doc_kinds={"document"},
                        doc_texts="淄博市政协委员赴京学习。全国政协设34个界别")
    assert mismatch(q, national) == ""


# ---- mismatch: places and years ----------------------------------------------------------------
def test_evidence_about_another_city_does_not_answer():
    q = analyze("济南市政协2025年收到多少件提案？")
    assert mismatch(q, zibo()) == "资料中没有关于“济南”的内容"


def test_a_place_named_anywhere_in_the_document_counts():
    # '我市' in the passage: the document's own text says which city it is
    q = analyze("淄博市政协2025年收到多少件提案？")
    ev = evidence("我市政协全年收到636件提案", titles="政协这一年", doc_years={2025},
                  doc_texts="淄博市政协奏出的2025年“履职乐章”。我市政协全年收到636件提案",
                  doc_kinds={"news"})
    assert mismatch(q, ev) == ""
    ev.doc_texts = "我市政协全年收到636件提案"  # nothing says which city
    assert mismatch(q, ev) == "资料中没有关于“淄博”的内容"


def test_evidence_from_another_year_does_not_answer():
    q = analyze("淄博市政协2024年开展了多少场次协商？")
    assert mismatch(q, zibo()) == "资料中没有2024年的相关内容"


def test_a_year_written_in_the_passage_counts_even_if_the_document_is_about_another():
    q = analyze("淄博市政协2024年开展了多少场次协商？")
    ev = evidence("2024年开展协商150场次", titles=ZIBO_TITLE, doc_years={2025},
                  doc_texts="淄博市政协", doc_kinds={"news"})
    assert mismatch(q, ev) == ""


# ---- mismatch: rules vs news, versions --------------------------------------------------------
def test_a_question_about_a_rule_is_not_answered_by_a_news_report():
    q = analyze("提案按规定应当在多少日内办结？")
    assert mismatch(q, zibo("305件提案在各部门努力下顺利办结")) == \
        "问题问的是规定，资料却是新闻报道，其中没有相关规定"


def test_a_question_about_a_rule_is_answered_by_a_law():
    q = analyze("信访事项按规定应当在多少日内办结？")
    ev = evidence("信访事项应当自受理之日起60日内办结", titles="信访工作条例", doc_years={2022},
                  doc_kinds={"law"})
    assert mismatch(q, ev) == ""


def test_a_question_about_an_old_version_of_a_law_is_refused_with_the_version_held():
    q = analyze("国旗法2009年版本规定国旗的通用尺度有几种？")
    assert q.version_year == 2009
    ev = evidence("国旗的通用尺度为国旗制法说明中所列明的五种尺度。", titles="中华人民共和国国旗法",
                  doc_years={2020}, doc_kinds={"law"}, version_years={2020},
                  history_years={1990, 2009, 2020})
    assert mismatch(q, ev) == "知识库中只有该法的2020年版本，没有2009年版本"


def test_when_an_old_version_was_adopted_is_answered_by_the_current_versions_history():
    q = analyze("国旗法2009年版本是哪天通过的？")
    assert (q.version_year, q.kind) == (2009, "date")
    ev = evidence(FLAG_HISTORY, titles="中华人民共和国国旗法", doc_years={2020},
                  doc_kinds={"law"}, version_years={2020}, history_years={1990, 2009, 2020})
    assert mismatch(q, ev) == ""


def test_the_version_held_answers_a_question_about_it():
    q = analyze("国旗法2020年版本规定国旗的通用尺度有几种？")
    ev = evidence("国旗的通用尺度为五种尺度。", titles="中华人民共和国国旗法", doc_years={2020},
                  doc_kinds={"law"}, version_years={2020})
    assert mismatch(q, ev) == ""


# ---- mismatch: the document named in 《》 ------------------------------------------------------
def test_a_law_named_in_the_question_is_not_answered_by_another_law_with_a_similar_name():
    q = analyze("《监察法实施条例》是哪天开始施行的？")
    ev = evidence("第三十六条 本条例自2004年12月1日起施行。", titles="劳动保障监察条例 第三十六条",
                  doc_kinds={"law"}, doc_titles=["劳动保障监察条例"])
    assert mismatch(q, ev) == "知识库中没有《监察法实施条例》，资料出自《劳动保障监察条例》"


def test_a_short_or_full_name_of_the_law_matches_its_title():
    for asked, title in (("监察法", "中华人民共和国监察法"), ("政协章程", "中国人民政治协商会议章程"),
                         ("中华人民共和国国旗法", "国旗法")):
        q = analyze(f"《{asked}》是哪天开始施行的？")
        ev = evidence("本法自公布之日起施行。", titles=title, doc_kinds={"law"},
                      doc_titles=[title])
        assert mismatch(q, ev) == "", asked


def test_a_law_quoted_by_the_passage_itself_counts():
    q = analyze("《监察法实施条例》规定了什么？")
    ev = evidence("会议学习了《监察法实施条例》。", titles="新闻", doc_kinds={"news"},
                  doc_titles=["新闻"])
    assert mismatch(q, ev) == ""


# ---- off_focus -------------------------------------------------------------------------------
def test_evidence_without_the_noun_asked_about_is_off_focus():
    q = analyze("淄博市政协秘书长是谁？")
    assert (q.focus, q.focus_is_noun) == (["秘书长"], True)
    assert off_focus(q, zibo("淄博市政协高举习近平新时代中国特色社会主义思想伟大旗帜")) == \
        "资料中没有提到“秘书长”"


def test_evidence_with_the_noun_or_its_alias_is_on_focus():
    q = analyze("淄博市政协秘书长是谁？")
    assert off_focus(q, zibo("市政协秘书长出席会议")) == ""
    q = QuestionInfo(text="国企管理人员怎么处分？", focus=["国企"], focus_is_noun=True)
    assert off_focus(q, evidence("国有企业管理人员", titles="条例")) == ""


def test_a_verb_focus_is_never_off_focus():
    q = QuestionInfo(text="提案由谁承办？", focus=["承办"], focus_is_noun=False)
    assert off_focus(q, evidence("由有关部门办理")) == ""


# ---- only_stated -------------------------------------------------------------------------------
def test_a_count_the_question_already_gives_is_no_answer():
    q = analyze("那452场活动里有多少场是法律援助？")
    assert only_stated(q, [Quote("开展法律援助、文艺下乡等特色活动452场次")]) == \
        "资料中只有问题里已经给出的数字，没有所问的数字"


def test_a_new_count_beside_the_stated_one_is_an_answer():
    q = analyze("那452场活动里有多少场是法律援助？")
    assert only_stated(q, [Quote("特色活动452场次，其中法律援助60场")]) == ""


def test_only_stated_applies_to_counts_durations_and_ratios():
    q = analyze("2025年7月11日举行了什么活动？")  # a 'what' question stating figures
    assert only_stated(q, [Quote("2025年7月11日举行协商圆桌会")]) == ""
    q = analyze("提案有多少件？")  # no stated figures
    assert only_stated(q, [Quote("全年636件提案")]) == ""


# ---- wrong_unit ---------------------------------------------------------------------------------
def test_a_count_in_another_unit_does_not_answer():
    q = analyze("淄博市政协2025年有多少名委员工作室？")
    assert wrong_unit(q, [Quote("在淄博已有9家，连同44家“政协委员工作室”")]) == \
        "资料中没有以“名”计的数字"


def test_a_count_in_the_asked_unit_or_its_alias_answers():
    assert wrong_unit(analyze("收到多少件提案？"), [Quote(ZIBO_OPENING)]) == ""
    assert wrong_unit(analyze("应当在多少天内答复？"), [Quote("应当在十五日内答复")]) == ""
    # any of several picks may hold it
    assert wrong_unit(analyze("开展了多少场次协商？"),
                      [Quote("全年636件提案"), Quote("167场次协商")]) == ""


def test_wrong_unit_needs_a_strict_unit_and_a_count_question():
    assert wrong_unit(analyze("提案数量是多少？"), [Quote("很多")]) == ""  # no unit asked
    assert wrong_unit(analyze("开展了几种活动？"), [Quote("三大类")]) == ""  # 种 is loose
    assert wrong_unit(analyze("哪一年制定的？"), [Quote("1990年")]) == ""  # not a count
