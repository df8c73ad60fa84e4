"""Page chrome is removed; content, bylines and headlines stay."""

from __future__ import annotations

import re

import pytest

from fixtures import POLICY, ZIBO, requires_shared
from ingest.chrome import is_chrome_line, strip_chrome
from ingest.normalize import normalize_text

ZIBO_CHROME = [
    "网易首页 > 网易号 > 正文 申请入驻", "0", "分享至", "闪电新闻 incentive-icons", "闪电新闻",
    "山东广播电视台资讯首发平台", "280228文章数 237024关注度", "往期回顾 全部", "专题推荐",
    "洞天福地 花海毕节 山水馈赠里的“诗与远方", "无障碍浏览 进入关怀版",
]
HEADLINE = "淄博政协这一年|以实干实绩交出履职新答卷"
BYLINE = "闪电新闻记者 孙凯旋 通讯员 徐勐 李伟 马斌 报道"


@pytest.fixture(scope="module")
def zibo() -> tuple[str, str]:
    if not ZIBO.is_file():
        pytest.skip(f"shared corpus not found at {ZIBO.parent}")
    original = normalize_text(ZIBO.read_text(encoding="utf-8"))
    return original, strip_chrome(original)


def test_zibo_chrome_lines_are_gone(zibo):
    original, cleaned = zibo
    lines = cleaned.split("\n")
    for chrome in ZIBO_CHROME:
        assert chrome in original.split("\n")  # the fixture still holds it
        assert chrome not in lines, chrome
    assert "特别声明" not in cleaned and "Notice: The content above" not in cleaned
    assert "incentive-icons" not in cleaned and "关注度" not in cleaned


def test_zibo_body_byline_and_headline_stay(zibo):
    original, cleaned = zibo
    assert cleaned.split("\n")[0] == f"# {HEADLINE}"  # framed by chrome: promoted to a title
    assert cleaned.endswith(BYLINE)  # the byline is content; everything after it was chrome
    body = original[original.index("齐鲁网·闪电新闻"):original.index(BYLINE)]
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    assert len(paragraphs) == 21
    for paragraph in paragraphs:
        assert paragraph in cleaned  # every paragraph verbatim, those with numbers included
    for figure in ("636件提案", "167场次", "102篇信息", "6000万元", "3.92亿元", "452场次", "62名"):
        assert figure in cleaned


def test_zibo_cleaned_text_has_no_digit_paragraph_lost(zibo):
    original, cleaned = zibo
    body = original[original.index("齐鲁网·闪电新闻"):original.index(BYLINE) + len(BYLINE)]
    with_digits = [p for p in body.split("\n\n") if re.search(r"\d", p)]
    assert len(with_digits) >= 12
    assert all(p in cleaned for p in with_digits)


@pytest.mark.parametrize("line", [
    "首页 > 新闻中心 > 政协要闻", "当前位置：首页 > 正文", "分享到： 微信 微博 QQ空间",
    "【打印】 【关闭窗口】", "返回顶部", "阅读 1.2万", "328粉丝 12关注", "责任编辑：张三",
    "[责任编辑：李四 校对：王五]", "扫一扫在手机打开当前页", "点击查看全文", "下一篇：市政协召开常委会议",
    "免责声明：本文仅代表作者观点", "本文来源于网络，如有侵权请联系删除", "未经授权，禁止转载",
    "Copyright 2026 Example Inc.", "版权所有 淄博市政协", "打开APP阅读更多精彩内容", "相关推荐",
    "大家都在看", "字号：大 中 小",
])
def test_generic_chrome_lines(line):
    assert is_chrome_line(line)


@pytest.mark.parametrize("line", [
    "委员们分享了各自的履职经验，大家一致认为收获很大。",
    "相关推荐意见已转交有关部门办理。",
    "未经许可，任何单位或者个人不得生产、销售民用爆炸物品。",
    "编辑出版工作要坚持正确导向。",
    "全年636件提案承载民意。",
    "2025年，淄博市政协共收到提案636件。",
    "第一条 为了维护国歌的尊严，制定本法。",
    "## 第一章 总则",
    "收藏品市场管理办法",
    "关注民生 服务大局",
    "闪电新闻记者 孙凯旋 通讯员 徐勐 李伟 马斌 报道",
    "A > B 时，取较大值",
])
def test_content_lines_are_never_chrome(line):
    assert not is_chrome_line(line)


def test_footer_marker_cuts_only_after_the_body():
    body = "第一段正文，内容很长很长很长很长很长很长很长很长很长很长。\n\n第二段正文，也很长很长很长很长很长。"
    page = f"{body}\n\n相关推荐\n\n别的新闻标题一\n\n别的新闻标题二"
    assert strip_chrome(page) == body
    # A marker before the body (a sidebar rendered first) must not cut the article away.
    early = f"热门推荐\n\n{body}"
    assert strip_chrome(early) == body


def test_lone_counter_goes_only_next_to_chrome():
    assert strip_chrome("标题\n\n12\n分享至\n\n正文。") == "标题\n\n正文。"
    table_like = "各界别提案数\n\n经济界\n\n12\n\n教育界\n\n8"
    assert strip_chrome(table_like) == table_like


def test_headline_survives_a_page_saved_without_blank_lines():
    page = "网易首页 > 网易号 > 正文 申请入驻\n市政协召开常委会议\n0\n分享至\n本报讯 市政协召开会议。"
    assert strip_chrome(page) == "# 市政协召开常委会议\n本报讯 市政协召开会议。"


def test_publisher_box_goes_but_short_lines_elsewhere_stay():
    page = "正文第一段。\n\n某某日报\n全省第一资讯平台\n1234文章数 56789关注度\n\n结语段落。"
    assert strip_chrome(page) == "正文第一段。\n\n结语段落。"
    plain = "正文第一段。\n\n某某日报\n全省第一资讯平台\n\n结语段落。"
    assert strip_chrome(plain) == plain


def test_headline_is_promoted_only_when_framed_by_chrome():
    framed = "首页 > 新闻 > 正文\n\n市政协召开常委会议\n\n分享至\n\n正文第一段。"
    assert strip_chrome(framed) == "# 市政协召开常委会议\n\n正文第一段。"
    unframed = "市政协召开常委会议\n\n分享至\n\n正文第一段。"
    assert strip_chrome(unframed) == "市政协召开常委会议\n\n正文第一段。"
    titled = "# 已有标题\n\n首页 > 新闻 > 正文\n\n小标题\n\n分享至\n\n正文。"
    assert strip_chrome(titled) == "# 已有标题\n\n小标题\n\n正文。"


@requires_shared
def test_laws_are_left_untouched():
    for path in sorted(POLICY.glob("*.md")):
        text = normalize_text(path.read_text(encoding="utf-8"))
        assert strip_chrome(text) == text, path.name
