"""Evidence clues (bot/answering/clues.py): does a sentence cover the question's words, and does it hold the
kind of figure asked for (a count, not a year; a duration, not a count; a date…)?"""

from __future__ import annotations

import pytest

from bot.answering.clues import (counts, fits_kind, focus_near_figure, has_unit,
                                 names_sibling, states_duration_of, states_figure, term_coverage,
                                 total_of, unsaid, years_named)
from ingest.tokens import char_rarity

OPENING = "全年636件提案承载民意，167场次协商激荡智慧"


def counted(text: str) -> list[str]:
    return [text[s:e] for s, e in counts(text)]


# ---- term_coverage ---------------------------------------------------------------------------
def test_term_coverage_is_the_weighted_share_of_terms_found():
    assert term_coverage("全年636件提案", {"提案": 1.0, "协商": 1.0}) == 0.5
    assert term_coverage("全年636件提案", {"提案": 3.0, "协商": 1.0}) == 0.75
    assert term_coverage("全年636件提案", {}) == 0.0


def test_term_coverage_counts_aliases_as_the_term():
    assert term_coverage("全国人民代表大会常务委员会", {"人大": 1.0}) == 1.0
    assert term_coverage("国有企业管理人员", {"国企": 1.0}) == 1.0


def test_a_partly_matching_term_earns_part_of_its_weight():
    # 政协委员 has the bigrams 政协, 协委, 委员; only 政协 is there: 0.6 * 1/3
    assert term_coverage("淄博市政协", {"政协委员": 1.0}) == pytest.approx(0.2)
    assert term_coverage("淄博市政协", {"提案": 1.0}) == 0.0


def test_term_coverage_reads_normalised_text():
    assert term_coverage("专项资金6,000万元", {"6000万元": 1.0}) == 1.0


# ---- counts ----------------------------------------------------------------------------------
def test_counts_are_the_figures_that_count_something():
    assert counted(OPENING) == ["636", "167"]
    assert counted("推动8个专委会委员履职支部建设") == ["8"]
    assert counted("留置时间不得超过三个月") == ["三"]
    assert counted("社情民意信息连续4年在全省位列第一") == ["4"]


@pytest.mark.parametrize("text", [
    "2025年7月11日举行协商圆桌会",  # the parts of a date
    "本法自1990年10月1日起施行",
    "2025年，淄博市政协发挥专门协商机构作用",  # a year
    "第十二条 国旗应当升挂",  # an ordinal
    "扎实开展深入贯彻中央八项规定精神学习教育",  # slogans count nothing
    "深化网络、队伍、机制“三项建设”，健全市、县、镇“三级联动”工作体系",
    "统筹推进“两支队伍”建设",
    "严格落实“三联系”制度",
    "报上一级人民政府批准",  # 上一级 is a level
])
def test_figures_in_dates_years_ordinals_and_slogans_are_not_counts(text):
    assert not counts(text)


@pytest.mark.parametrize("text", ["中华人民共和国于一九四九年十月一日成立", "二〇一八年三月十一日通过"])
def test_a_date_written_in_numerals_is_a_date(text):
    assert not counts(text)
    assert fits_kind(text, "date")


# ---- has_unit ----------------------------------------------------------------------------------
def test_has_unit_wants_a_count_followed_by_the_asked_measure_word():
    assert has_unit(OPENING, "件")
    assert has_unit(OPENING, "场次")
    assert not has_unit("全年636件提案", "场")
    assert not has_unit("在淄博已有9家，连同44家“政协委员工作室”", "名")  # 家 is not 名


def test_has_unit_knows_aliases_and_words_between_figure_and_unit():
    assert has_unit("应当在七日内答复", "天")  # 天 and 日 are one
    assert has_unit("十五天", "日")
    assert has_unit("工信部6000万元专项资金", "钱")  # 钱 is 元
    assert has_unit("全年560余次走访联系", "次")  # 余 may sit between
    assert has_unit("超过100多名委员", "名")


def test_a_unit_after_a_year_is_not_a_count_of_that_unit():
    assert not has_unit("2025年", "年")


# ---- fits_kind ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, text, fits", [
    ("count", "全年636件提案", True),
    ("count", "中华人民共和国国旗是五星红旗", False),
    ("count", "2025年7月11日举行协商圆桌会", False),  # only a date
    ("duration", "留置时间不得超过三个月", True),
    ("duration", "应当在二十四小时以内通知", True),
    ("duration", "全年636件提案", False),  # a count is not a duration
    ("date", "本法自2017年10月1日起施行", True),
    ("date", "本法自公布之日起施行", False),
    ("year", "1990年6月28日通过", True),
    ("year", "一九五四年九月二十日", True),
    ("ratio", "以全体代表的三分之二以上的多数通过", True),
    ("ratio", "全体代表的过半数通过", True),
    ("ratio", "全年636件提案", False),
    ("ratio", "男女生比例约为1：7", True),
    ("ratio", "七成以上委员参加", True),
    ("ratio", "成立了专门委员会", False),  # 成 of a word, not a tenth
    ("who", "由全国人民代表大会常务委员会召集", True),
    ("who", "国旗是五星红旗", False),
    ("frequency", "国旗应当每日升挂", True),
    ("frequency", "国旗应当升挂", False),
    ("article", "依照本法第十六条的规定", True),
    # any year, month, decade, extent or ordinal, not only those of a law's text
    ("year", "天启五年（1625年）进士，任知县", True),
    ("year", "太建三年（公元571年），拜为尚书左仆射", True),
    ("year", "他在五年后离任", False),
    ("date", "于1847年－1850年间在香港岛首次发现", True),
    ("date", "花期3－4月，果期7－12月", True),
    ("date", "香港于60年代已经从迪士尼引入动画", True),
    ("duration", "录制时间长达30秒之久", True),
    ("duration", "主跑道是08/26，长1,980米", True),
    ("article", "是北京地铁10号线的第二代站房", True),
    ("article", "Kellylicious是陈慧琳的第十八张个人粤语大碟", True),
    ("article", "本条规定适用于全体人员", False),
    ("what", "任何句子", True),
    ("yesno", "任何句子", True),
])
def test_fits_kind(kind, text, fits):
    assert fits_kind(text, kind) is fits


@pytest.mark.parametrize("text, says", [
    ("全年636件提案", True), ("延长时间不得超过三个月", True), ("应当有其组成人员的过半数出席", True),
    ("国旗应当每日升挂", True), ("2001年福布斯富豪榜排名第51", True), ("是第 26 届亚洲冠军联赛", True),
    ("全年开展协商活动百余场", True), ("上千名群众参与，惠及万余人次", True),  # said roughly
    ("千方百计为老百姓办实事", False),  # 千, 百 in words that count nothing
    ("2025年，淄博市政协发挥专门协商机构作用", False),  # a year is not what 多少 asks
    ("第十四条 国家实行监察官制度", False),  # a provision's number is a reference
    ("依照本法第二十条第三款的规定", False),
])
def test_states_figure_is_any_count_duration_share_frequency_or_rank(text, says):
    assert states_figure(text) is says


# ---- focus near a figure, durations ------------------------------------------------------------
def test_focus_near_figure_links_the_asked_word_to_a_count():
    assert focus_near_figure("全年636件提案承载民意", ["提案"])  # figure just before
    assert focus_near_figure("留置时间不得超过三个月", ["留置"])  # figure within the window after
    assert not focus_near_figure("提案工作很重要，全年开展了各类活动，其中有167场次", ["提案"])
    assert not focus_near_figure("全年636件提案", [])


def test_total_of_finds_a_whole_stated_before_the_thing_asked_about():
    assert total_of(OPENING, ["提案"])  # 全年636件提案
    assert total_of("共计收到提案305件，其中", ["提案"]) is False  # the thing comes first
    assert total_of("累计 12 个委员工作室", ["委员工作室"])
    assert not total_of("情牵万家灯火，305件提案、105件意见建议", ["提案"])  # no whole named
    assert not total_of(OPENING, ["协商"])  # 167场次 is not marked as a whole


def test_states_duration_of_the_focus():
    assert states_duration_of("留置时间不得超过三个月", ["留置"])
    assert states_duration_of("留置的期限", ["留置"])
    assert not states_duration_of("留置三个月", ["留置"])  # no 时间/期限 word
    assert not states_duration_of("留置时间不得超过三个月", ["提案"])


# ---- years_named -------------------------------------------------------------------------------
def test_years_named_are_four_digit_years():
    assert years_named("2024年和2025年的提案") == {2024, 2025}
    assert years_named("第3000号") == set()


def test_unsaid_is_nothing_when_the_passage_says_the_whole_question():
    assert unsaid("钩鼻海蛇主要以什么为食？", "钩鼻海蛇\n钩鼻海蛇主要以鱼类为食。") == (0.0, 0.0)


def test_unsaid_names_the_rare_characters_of_another_things_name():
    rarest, share = unsaid("瘰鳞蛇主要以什么为食？", "钩鼻海蛇\n钩鼻海蛇主要以鱼类为食。")
    assert rarest == pytest.approx(char_rarity("瘰"))
    assert 0.2 < share < 0.6  # 瘰 and 鳞 of 瘰鳞蛇主要以为食


def test_unsaid_weighs_a_common_word_missing_below_a_rare_one():
    common, _ = unsaid("这种蛇一般以什么为食？", "钩鼻海蛇主要以鱼类为食。")
    rare, _ = unsaid("瘰鳞蛇主要以什么为食？", "钩鼻海蛇主要以鱼类为食。")
    assert common < rare


def test_unsaid_leaves_out_the_question_words_and_reads_normalised_text():
    assert unsaid("ＡＢＣ公司有多少员工？", "abc公司有员工300人。") == (0.0, 0.0)


def test_unsaid_leaves_digits_and_letters_to_other_features():
    rarest, _ = unsaid("2025年XYZ公司有多少员工？", "ABC公司有员工300人。")
    assert rarest == pytest.approx(char_rarity("年"))  # not the digits of 2025, nor X, Y or Z


def test_char_rarity_orders_common_below_rare_characters():
    assert char_rarity("的") < char_rarity("蛇") < char_rarity("瘰")


# ---- names_sibling -----------------------------------------------------------------------------
@pytest.mark.parametrize("question, title, share", [
    ("东直门站有几个出入口？", "西直门站_(北京市)", 0.75),  # 东 goes on from 直门站, not 西
    ("红嘴蓝鹊以什么为食？", "黄嘴蓝鹊", 0.75),
    ("按刑事诉讼法，几日内上诉？", "中华人民共和国民事诉讼法", 4 / 12),  # another law
    ("长江二号线有几站？", "长江一号线", 0.4),  # 长江 then 二/一: the longest such run counts
])
def test_a_question_naming_a_sibling_of_the_passages_subject(question, title, share):
    assert names_sibling(question, title) == pytest.approx(share)


@pytest.mark.parametrize("question, title", [
    ("西直门站有几个出入口？", "西直门站_(北京市)"),  # the subject itself, its note aside
    ("按民事诉讼法，几日内上诉？", "中华人民共和国民事诉讼法"),  # 按 leads a name, is not one
    ("依照《民事诉讼法》规定", "中华人民共和国民事诉讼法"),
    ("黄嘴蓝鹊的雏鸟吃什么？", "蓝鹊"),  # names more than the title: no other way it goes on
    ("这种鸟的叫声如何？", "黄嘴蓝鹊"),  # shares no run of two characters
])
def test_the_subject_itself_or_nothing_of_it_is_no_sibling(question, title):
    assert names_sibling(question, title) == 0.0
