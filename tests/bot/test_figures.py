"""Figures in Chinese text as comparable values — the base of the number guard.

An answer may write a figure differently from its source (6,000万元 / 6000万元, 十五日 / 15日,
三分之二 / 2/3); the guard compares values, so these are the same figure, and 700 against 636
is not.
"""

from __future__ import annotations

import pytest

from bot.figures import cn_to_number, figure_values, find_figures, untraced_figures


def figures(text: str) -> list[tuple[str, float, str]]:
    return [(f.text, f.value, f.kind) for f in find_figures(text)]


def values(text: str) -> list[float]:
    return [f.value for f in find_figures(text)]


# ---- cn_to_number ---------------------------------------------------------------------------
@pytest.mark.parametrize("run, value", [
    ("十", 10), ("十五", 15), ("二十", 20), ("一百二十", 120), ("一百零八", 108),
    ("两", 2), ("两千", 2000), ("三千万", 30_000_000), ("一万零五百", 10_500),
    ("一亿二千万", 120_000_000), ("零", 0),
    # a run of bare digits is read digit by digit: that is how years are written
    ("一九四九", 1949), ("二〇二五", 2025),
])
def test_cn_to_number_reads_chinese_numerals(run, value):
    assert cn_to_number(run) == value


@pytest.mark.parametrize("run", ["", "abc", "十五日", "636"])
def test_cn_to_number_refuses_anything_but_numerals(run):
    assert cn_to_number(run) is None


# ---- find_figures -----------------------------------------------------------------------------
def test_figures_are_found_left_to_right_with_their_text_and_offsets():
    text = "全年636件提案承载民意，167场次协商激荡智慧"
    found = find_figures(text)
    assert [(f.text, f.value) for f in found] == [("636", 636), ("167", 167)]
    assert all(text[f.start:f.end] == f.text for f in found)


@pytest.mark.parametrize("a, b", [
    ("6,000万元", "6000万元"),  # thousands separator
    ("6000万元", "六千万元"),  # digits and numerals
    ("十五日", "15日"),
    ("三分之二以上", "2/3以上"),  # fractions, written both ways
    ("百分之二十", "20%"),  # percentages, written both ways
    ("20%", "２０％"),  # full-width digits and percent sign
    ("一九四九年", "1949年"),  # a year in numerals
    ("两名委员", "2名委员"),  # 两 is 二
    ("二名委员", "两名委员"),
    ("3.92亿元", "392000000元"),
])
def test_one_value_in_different_writings(a, b):
    assert values(a) == values(b) and values(a)


def test_kinds_tell_numbers_percentages_and_fractions_apart():
    assert figures("百分之二十") == [("百分之二十", 20.0, "percent")]
    assert figures("20%") == [("20%", 20.0, "percent")]
    assert figures("三分之一以上的代表") == [("三分之一", 0.333333, "fraction")]
    assert figures("1/2以上") == [("1/2", 0.5, "fraction")]
    assert figures("工信部6000万元专项资金") == [("6000万", 60_000_000, "number")]


def test_a_date_gives_its_year_month_and_day_as_figures_not_a_fraction():
    assert values("2025年7月11日") == [2025, 7, 11]
    assert [f.kind for f in find_figures("2020/10/17")] == ["number"] * 3
    assert values("2020/10/17") == [2020, 10, 17]


@pytest.mark.parametrize("text, expected", [
    ("第十二条", [12]),  # after 第: an ordinal, still a figure
    ("每届任期五年", [5]),  # a lone numeral before a measure word
    ("三个月", [3]),
    ("七日内", [7]),
    ("二十四小时以内", [24]),
    ("一百五十万元", [1_500_000]),
])
def test_chinese_numerals_before_measure_words_are_figures(text, expected):
    assert values(text) == expected


@pytest.mark.parametrize("text", [
    "上一级人民政府",  # 上一级 / 下一级: a level, not a number
    "下一级",
    "一般情况",
    "统一领导",
    "一律",
    "一些",
    "五星红旗",  # 五 before 星 (no measure word)
    "（一）",  # list markers
    "一、",
    "十几个",  # an approximation gives no figure
    "零点五",
])
def test_numeral_characters_inside_words_are_not_figures(text):
    assert find_figures(text) == []


def test_a_slogan_numeral_is_a_figure_here_counts_drop_it_later():
    # find_figures reads every numeral before a measure word; bot.sentences.counts is the place
    # that knows 八项规定 counts nothing (see test_sentences).
    assert values("中央八项规定精神") == [8]


def test_figure_values_is_the_set_of_values():
    assert figure_values("636件提案，其中305件已办结，另有636件") == {636, 305}


# ---- untraced_figures: the number guard -------------------------------------------------------
SOURCE = "全年636件提案承载民意，167场次协商激荡智慧。工信部6000万元专项资金支持我市企业。"


def test_a_figure_not_in_any_source_is_untraced():
    assert untraced_figures("全年共有700件提案[1]", [SOURCE]) == ["700"]


def test_figures_in_the_sources_are_traced_however_written():
    assert untraced_figures("全年636件提案[1]，专项资金6,000万元[1]", [SOURCE]) == []
    assert untraced_figures("资金六千万元", [SOURCE]) == []
    assert untraced_figures("应当在十五日内答复[2]", ["信访人可以在15日内提出"]) == []
    assert untraced_figures("须经三分之二以上通过", ["须经2/3以上通过"]) == []
    assert untraced_figures("占百分之二十", ["占20%"]) == []
    assert untraced_figures("一九四九年", ["1949年10月1日"]) == []


def test_citation_markers_are_not_figures():
    assert untraced_figures("见[1][2][12]。", ["没有数字"]) == []
    # but a figure right beside a marker still counts
    assert untraced_figures("共700件[1]", ["没有数字"]) == ["700"]


def test_any_source_may_trace_a_figure():
    assert untraced_figures("636件和167场次", ["636件", "167场次"]) == []


def test_each_untraced_figure_is_reported_as_written():
    assert untraced_figures("2025年7月11日", ["2025年7月12日"]) == ["11"]
    assert untraced_figures("20%", []) == ["20%"]
    assert untraced_figures("", [SOURCE]) == []


def test_the_guard_compares_values_not_kinds():
    # 20% and 20件 share the value 20: the guard accepts it (it checks figures exist, not their
    # meaning — choosing the right sentence is the answerer's job).
    assert untraced_figures("20%", ["共20件"]) == []


# ---- known misreadings -------------------------------------------------------------------------
def test_a_list_of_years_separated_by_a_comma_is_two_years():
    assert values("2019，2020年") == [2019, 2020]


@pytest.mark.parametrize("text", ["这项工作十分重要", "万一发生紧急情况"])
def test_adverbs_made_of_numerals_are_not_figures(text):
    assert find_figures(text) == []


def test_a_chinese_decimal_percentage_matches_its_arabic_form():
    assert untraced_figures("百分之零点五", ["0.5%"]) == []
