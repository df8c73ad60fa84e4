"""Stage 1, analysis: what kind of answer is asked for, in what unit, about which body, place,
year and law version — the names the answerer later checks its evidence against."""

from __future__ import annotations

import pytest

from bot.answering.analysis import (aliases, analyze, bodies_named, choose_focus,
                                    content_terms, expand_query, focus_candidates, focus_found,
                                    is_followup, laws_named, names_law, places_in,
                                    question_kinds, split_subquestions,
                                    stated_figures, unit_chars)


def question_kind(text: str) -> str:
    """The kind of the question: that of its last sub-question."""
    return question_kinds(text)[-1]

PROPOSALS = "2025年淄博市政协全年提案数量是多少？"


# ---- kinds -------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, kind", [
    ("2025年淄博市政协全年提案数量是多少？", "count"),
    ("淄博有多少家“政协委员工作室”？", "count"),
    ("全国政协每届任期几年？", "duration"),
    ("留置时间最长多久？", "duration"),
    ("信访事项应当在多少日内答复？", "duration"),  # 多少日 is a span of time, not a count
    ("国旗法第一次修正是哪一年？", "year"),
    ("国歌法是哪天通过的？", "date"),
    ("国旗应当多久升挂一次？", "frequency"),  # 多久…一次 is how often, not how long
    ("多大比例的代表可以提议？", "ratio"),
    ("国歌法第几条规定了奏唱场合？", "article"),
    ("全国人大常委会由谁召集？", "who"),
    ("政协委员可以兼任吗？", "yesno"),
    ("中华人民共和国国旗是什么？", "what"),
    ("随便说说", "what"),  # nothing asked: what
    ("这座车站设站于几几年？", "year"),  # 几几年 asks a year, not a count of years
    ("成立之初的那几年，哪个组织势力最大？", "what"),  # 那几年: "those few years", asking nothing
    ("十几个委员提出了什么建议？", "what"),
    ("至少得提前几天发布公告？", "duration"),  # 提前几天 still asks
])
def test_question_kind(question, kind):
    assert question_kind(question) == kind
    assert analyze(question).kind == kind


def test_each_sub_question_has_its_kind_and_the_last_one_names_the_question():
    assert question_kinds("国旗法是哪天修订的？修订后从哪天起施行？") == ["date", "date"]
    assert question_kinds("提案有多少件？哪一年收到的？") == ["count", "year"]
    assert question_kind("提案有多少件？哪一年收到的？") == "year"
    # '其中…哪一类' asks which kind, not how many
    assert question_kind("淄博政协开展了多少场次协商，其中哪一类最多？") == "what"


@pytest.mark.parametrize("question", ["几岁可以当选人大代表？", "年满几周岁有选举权？"])
def test_asking_an_age_with_ji_is_a_count_like_with_duoshao(question):
    assert question_kind("年满多少岁有选举权？") == "count"
    assert question_kind(question) == "count"


# ---- unit --------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, unit", [
    ("淄博市政协收到多少件提案？", "件"),
    ("开展了多少场次协商？", "场次"),  # 场次, not 场
    ("有多少家工作室？", "家"),
    ("多少个工作日内答复？", "工作日"),
    ("信访事项应当在多少日内答复？", "日"),
    ("专项资金有多少钱？", "钱"),
    ("提案数量是多少？", ""),  # no measure word after 多少
])
def test_unit_is_the_measure_word_after_the_question_word(question, unit):
    assert analyze(question).unit == unit


def test_unit_chars_treat_day_words_and_money_words_alike():
    assert set(unit_chars("天")) == {"日", "天"} == set(unit_chars("日"))
    assert unit_chars("钱") == "元"
    assert unit_chars("场次") == "场"
    assert unit_chars("件") == "件"  # no alias: itself
    # persons are counted in 人, 名 and 位 alike; shops, schools and firms in 家, 间 and 所
    assert set(unit_chars("名")) == set(unit_chars("人")) == set(unit_chars("位")) == {"人", "名", "位"}
    assert set(unit_chars("家")) == {"家", "间", "所"}
    assert analyze("那几年设了多少家分店？").unit == "家"
    assert analyze("这几天来了几名委员？").unit == "名"


# ---- years, versions, order --------------------------------------------------------------------
def test_years_are_the_four_digit_years_named():
    assert analyze("2025年和2024年提案数量各是多少？").years == (2024, 2025)
    assert analyze("提案数量是多少？").years == ()


def test_a_year_is_a_version_year_only_when_the_question_asks_for_a_version():
    assert analyze("国旗法2009年版本规定了什么？").version_year == 2009
    assert analyze("修订前的2009年版本怎么规定的？").version_year == 2009
    assert analyze("2009年发生了什么？").version_year == 0


@pytest.mark.parametrize("question, order", [
    ("宪法最近一次修正是哪天？", "latest"),
    ("现行宪法是哪天修正的？", "latest"),
    ("国旗法第一次修正是哪一年？", "earliest"),
    ("国歌法是哪天通过的？", ""),
])
def test_order_says_which_of_several_dated_events_is_meant(question, order):
    assert analyze(question).order == order


# ---- bodies and places -------------------------------------------------------------------------
def test_bodies_named_by_the_question():
    assert bodies_named("全国政协每届任期几年？") == ["政协"]
    assert set(bodies_named("全国人大和全国政协")) == {"人大", "政协"}
    assert bodies_named("中国人民政治协商会议的职能") == ["政协"]
    assert bodies_named("监委可以留置多久？") == ["监察"]
    assert set(bodies_named("法院和检察院")) == {"法院", "检察院"}
    assert bodies_named("国旗是什么？") == []


def test_a_body_named_only_for_comparison_is_not_what_the_question_is_about():
    assert bodies_named("像人大代表那样，政协委员有没有任期？") == ["政协"]


def test_places_are_stems_of_real_place_names():
    assert places_in("淄博市政协和山东省政协") == ["淄博", "山东"]
    assert places_in("济南市政协2025年收到多少件提案？") == ["济南"]
    assert places_in("在北京召开") == ["北京"]  # a province-level name needs no suffix
    # 全国, 地方 are not places; a bare city name is not trusted (jieba guesses too much)
    assert places_in("全国政协和地方各级政协") == []
    assert places_in("淄博政协这一年") == []


# ---- terms, focus, stated figures --------------------------------------------------------------
def test_content_terms_drop_question_words_fillers_and_particles():
    assert content_terms("请问全国政协的秘书长是谁呢") == ["全国政协", "秘书长"]
    assert content_terms("我们市政协一共收到了多少件提案") == ["市政协", "收到", "提案"]
    # 国歌法是 -> jieba splits 法是; a particle stuck to one character is dropped with it
    assert "通过" in content_terms("国歌法是哪天通过的？")
    assert "是" not in "".join(content_terms("国歌法是哪天通过的？"))


def test_focus_is_the_word_asked_about():
    assert analyze("政协秘书长是谁？").focus == ("秘书长",)
    assert analyze("政协秘书长是谁？").focus_is_noun
    assert analyze("全国政协每届任期几年？").focus == ("任期",)
    # a noun right after 多少 is what is counted
    assert analyze("淄博市政协开展了多少场次协商？").focus == ("协商",)
    # ... whole, when it is a compound noun
    assert analyze("淄博市政协2025年有多少名委员工作室？").focus == ("委员工作室",)
    assert analyze("有多少篇信息被全国政协采用？").focus == ("信息",)


def test_focus_candidates_are_nearest_first():
    assert focus_candidates("政协秘书长是谁？")[0] == ("秘书长", "n")
    assert focus_candidates("开展了多少场次协商？")[0][0] == "协商"
    assert focus_candidates("没有问句") == []


def test_choose_focus_takes_a_noun_or_a_verb_the_documents_know():
    assert choose_focus([("秘书长", "n")], lambda w: False) == (["秘书长"], True)
    assert choose_focus([("召集", "v")], lambda w: True) == (["召集"], False)
    assert choose_focus([("召集", "v")], lambda w: False) == ([], False)  # unknown verb
    assert choose_focus([], lambda w: True) == ([], False)


def test_focus_found_accepts_aliases_and_close_characters():
    assert focus_found("秘书长", "市政协秘书长张三")
    assert focus_found("政协", "中国人民政治协商会议")  # alias
    assert focus_found("国企", "国有企业管理人员")  # expansion
    assert not focus_found("秘书长", "淄博市政协高举旗帜")


def test_stated_figures_are_the_figures_the_question_gives():
    assert stated_figures("那452场活动里有多少场是法律援助？") == [452]
    assert analyze("那452场活动里有多少场是法律援助？").stated == (452,)
    assert stated_figures("提案数量是多少？") == []
    # a date's parts are no figure given: '2009年4月' states no 4 that 4个 would merely repeat
    assert stated_figures("2009年4月，该郡改制为几个单一管理区？") == []
    assert stated_figures("在500强中排第几？") == [500]


# ---- follow-ups ----------------------------------------------------------------------------------
@pytest.mark.parametrize("question, followup", [
    ("那协商开展了多少场次？", True),  # starts with 那
    ("该法是哪天施行的？", True),  # 该
    ("2024年呢？", True),  # short, ends in 呢
    ("协商开展了多少场次？", True),  # names no body, place, law or year: leans on the last one
    ("淄博市政协协商开展了多少场次？", False),  # anchored by its body
    ("淄博市政协2024年全年一共开展了多少场次的协商活动呢？", False),  # long: stands alone
])
def test_is_followup(question, followup):
    assert is_followup(question) is followup


def test_followup_needs_history():
    assert analyze("那2024年呢？").followup is False
    assert analyze("那2024年呢？", [PROPOSALS]).followup is True


def test_followup_inherits_kind_names_and_topic_but_keeps_its_own_year():
    q = analyze("那2024年呢？", [PROPOSALS])
    assert q.kind == "count"  # asked the same thing…
    assert q.years == (2024,)  # …about another year
    assert q.places == ("淄博",) and q.bodies == ("政协",)
    # only the year is new: the earlier topic is this question's own, at full weight
    assert "提案" in q.terms and q.context_terms == ()
    assert q.weight_of["提案"] == analyze(PROPOSALS).weight_of["提案"]
    assert "2025" not in q.terms


def test_a_followup_naming_only_a_new_thing_asks_the_earlier_question_of_it():
    q = analyze("那协商呢？", ["2025年淄博市政协全年提案数量是多少？"])
    assert q.followup and q.kind == "count" and q.focus == ("协商",) and q.focus_is_noun
    year = analyze("那2024年呢？", ["2025年淄博市政协全年提案数量是多少？"])
    assert year.focus == ("提案",)  # a new year only: the earlier thing is still what is asked


def test_followup_with_its_own_question_keeps_its_kind_and_unit():
    q = analyze("那协商开展了多少场次？", [PROPOSALS])
    assert (q.kind, q.unit) == ("count", "场次")
    assert q.years == (2025,) and q.places == ("淄博",) and q.bodies == ("政协",)
    assert "提案" in q.context_terms and "协商" not in q.context_terms


def test_a_new_question_after_history_keeps_its_own_names():
    q = analyze("国歌法是哪天通过的？", [PROPOSALS])
    assert q.followup is False
    assert (q.kind, q.years, q.places, q.bodies) == ("date", (), (), ())


def test_without_history_nothing_is_inherited():
    q = analyze("那2024年呢？")
    assert (q.followup, q.kind, q.context_terms) == (False, "what", ())


# ---- sub-questions -------------------------------------------------------------------------------
def test_split_subquestions():
    assert split_subquestions("国旗法是哪天修订的？修订后从哪天起施行？") == [
        "国旗法是哪天修订的？", "修订后从哪天起施行？"]
    assert split_subquestions("2025年淄博市政协收到多少件提案？另外开展了多少场次协商？") == [
        "2025年淄博市政协收到多少件提案？", "开展了多少场次协商？"]
    # one question (and a sentence that asks nothing) stays whole
    assert split_subquestions("淄博市政协2025年收到多少件提案？") == ["淄博市政协2025年收到多少件提案？"]
    assert split_subquestions("请问一下。淄博市政协2025年收到多少件提案？") == [
        "请问一下。淄博市政协2025年收到多少件提案？"]


# ---- synonyms ----------------------------------------------------------------------------------
def test_expand_query_adds_the_documents_words_for_abbreviations():
    expanded = expand_query("全国人大常委会由谁召集？")
    assert expanded.startswith("全国人大常委会由谁召集？")
    assert "全国人民代表大会常务委员会" in expanded
    assert "国有企业" in expand_query("国企管理人员")
    assert "不得超过" in expand_query("留置时间最长多久？")  # 最长 is written 不得超过
    assert expand_query("国旗是什么？") == "国旗是什么？"


def test_aliases_are_the_terms_as_documents_write_them():
    assert aliases("国企改革") == ("国有企业改革",)
    assert "全国人民代表大会" in aliases("全国人大")
    assert "人民代表大会代表" in aliases("人大代表")
    assert aliases("国旗") == ()


# ---- laws named without 《》 --------------------------------------------------------------------
@pytest.mark.parametrize("question, laws", [
    ("按国旗法，哪些人士逝世时下半旗？", ["国旗法"]),
    ("国旗法和国歌法分别是从哪天开始施行的？", ["国旗法", "国歌法"]),
    ("监察法规定的监察对象有哪些？", ["监察法"]),  # 法 then 规定: the name ends there
    ("宪法规定公民年满多少岁才有选举权？", []),  # two characters: too short to be sure
    ("国旗的制法说明是由哪个机构公布的？", []),
    ("氨碱法是由谁发明的？", []),  # nothing says it is a law
    ("罗克鲁瓦战役中法国军队的统帅是谁？", []),
    ("监督法最近一次修正是哪天？", ["监督法"]),
    ("公职人员政务处分法规定的处分有几种？", ["公职人员政务处分法"]),
    ("中华人民共和国国旗法规定了什么？", ["中华人民共和国国旗法"]),  # 共和国 is no join
    ("人民法院应当依法审理吗？", []),  # 法院 goes on; 依法 is an everyday word
    ("有什么办法解决？", []),
    ("该条例从哪天起施行？", []),  # 条例 alone names no law
])
def test_laws_named_without_brackets(question, laws):
    assert laws_named(question) == laws


def test_a_bare_law_name_means_the_title_its_end_stands_in():
    assert names_law("国旗法", "中华人民共和国国旗法")
    assert not names_law("国旗法", "中华人民共和国国歌法")
    assert names_law("最高法", "最高人民法院关于审理企业破产案件若干问题的规定")  # in order
    assert names_law("国企管理人员处分条例", "国有企业管理人员处分条例")
    assert not names_law("社会团体登记管理条例", "信访工作条例")  # 条例 alone is no name


def test_the_measure_word_asked_is_the_unit_not_a_topic_word():
    q = analyze("开展了多少场次政策宣讲？")
    assert q.unit == "场次" and "场次" not in q.terms and "宣讲" in q.terms
