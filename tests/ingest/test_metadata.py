"""Document metadata: law headers, news datelines, reports, file names; empty rather than wrong."""

from __future__ import annotations

import pytest

from fixtures import POLICY, SCALE_LAWS, ZIBO, requires_scale, requires_shared
from ingest.chrome import strip_chrome
from ingest.metadata import (DocMeta, describe, filename_date, find_dates, history_event,
                             issuer_of_line, parse_history)
from ingest.normalize import normalize_text


def policy_meta(name: str) -> DocMeta:
    path = POLICY / name
    return describe(normalize_text(path.read_text(encoding="utf-8")), path.name, None)


@requires_shared
@pytest.mark.parametrize("name, title, date, issuer, events", [
    ("国歌法(2017-09-01).md", "中华人民共和国国歌法", "2017-09-01",
     "全国人民代表大会常务委员会", ["通过"]),
    ("宪法.md", "中华人民共和国宪法", "2018-03-11", "全国人民代表大会",
     ["通过", "公布", "修正", "修正", "修正", "修正", "修正"]),
    ("全国人民代表大会和地方各级人民代表大会代表法(2025-03-11).md",
     "中华人民共和国全国人民代表大会和地方各级人民代表大会代表法", "2025-03-11", "全国人民代表大会",
     ["通过", "修正", "修正", "修正", "修正"]),
    # Took effect 2019-05-15, but was revised (made) on 2019-04-03: the version date.
    ("政府信息公开条例(2019-04-03).md", "中华人民共和国政府信息公开条例", "2019-04-03", "国务院",
     ["公布", "修订", "施行"]),
    ("信访工作条例(2022-02-25).md", "信访工作条例", "2022-02-25", "中共中央、国务院", ["批准", "发布"]),
    # The header lists only the 1998 decree; the file name carries the 2016 version's date.
    ("社会团体登记管理条例(2016-02-06).md", "社会团体登记管理条例", "2016-02-06", "国务院", ["发布"]),
    # No history lines at all: the date comes from the file name, the issuer stays unknown.
    ("国有企业管理人员处分条例(2024-05-21).md", "国有企业管理人员处分条例", "2024-05-21", "", []),
])
def test_policy_law_headers(name, title, date, issuer, events):
    meta = policy_meta(name)
    assert (meta.title, meta.date, meta.year, meta.issuer, meta.kind) == (
        title, date, int(date[:4]), issuer, "law")
    assert [h["event"] for h in meta.history] == events


@requires_shared
def test_every_policy_law_gets_a_date_and_history_keeps_its_lines():
    for path in sorted(POLICY.glob("*.md")):
        meta = policy_meta(path.name)
        assert meta.kind == "law" and meta.date and meta.year == int(meta.date[:4]), path.name
        header = path.read_text(encoding="utf-8").split("<!-- INFO END -->")[0]
        for entry in meta.history:
            assert entry["text"] in normalize_text(header)
            assert entry["date"] in find_dates(entry["text"])


def test_history_line_forms():
    header = "\n".join([
        "# 中华人民共和国某法",
        "2017年9月1日 第十二届全国人民代表大会常务委员会第二十九次会议通过",
        "根据2018年3月11日第十三届全国人民代表大会第一次会议通过的《中华人民共和国宪法修正案》修正",
        "2019年3月2日 《国务院关于修改部分行政法规的决定》第二次修订",
        "2023年1月3日 最高人民法院审判委员会第1878次会议、2023年3月2日最高人民检察院第十三届"
        "检察委员会第一百一十四次会议通过",
        "2015年8月29日 第十二届全国人民代表大会常务委员会第十六次会议《关于修改〈某法〉、",
        "〈另一法〉的决定》第三次修正",
        "2012年10月1日 施行",
    ])
    history = parse_history(header)
    assert [(h["date"], h["event"]) for h in history] == [
        ("2017-09-01", "通过"), ("2018-03-11", "修正"), ("2019-03-02", "修订"),
        ("2023-03-02", "通过"), ("2015-08-29", "修正"), ("2012-10-01", "施行")]
    assert history[4]["text"].endswith("〈另一法〉的决定》第三次修正")  # the wrapped line rejoined
    assert [issuer_of_line(h["text"]) for h in history] == [
        "全国人民代表大会常务委员会", "全国人民代表大会", "国务院", "最高人民法院、最高人民检察院",
        "全国人民代表大会常务委员会", ""]


@pytest.mark.parametrize("line, issuer", [
    ("2007年4月5日 中华人民共和国国务院令第492号公布", "国务院"),
    ("2012年8月29日 国务院第215次常务会议通过", "国务院"),
    ("1989年11月17日 民政部、总后勤部令第1号发布", "民政部、总后勤部"),
    ("2022年1月24日 中共中央政治局会议审议批准", "中共中央政治局"),
    ("2004年12月30日 最高人民法院公告公布", "最高人民法院"),
    ("2022年3月10日 国家市场监督管理总局令第54号公布", "国家市场监督管理总局"),
    ("1979年7月4日 公布", ""),
])
def test_issuer_of_line(line, issuer):
    assert issuer_of_line(line) == issuer


def test_history_event_ignores_verbs_inside_titles():
    assert history_event("2009年8月27日 第十一届全国人民代表大会常务委员会第十次会议"
                         "《关于修改部分法律的决定》第一次修正") == "修正"
    assert history_event("1982年12月4日 全国人民代表大会公告公布施行") == "公布"
    assert history_event("1999年12月20日 实施") == "施行"


def test_dates_in_all_spellings():
    assert find_dates("2018年3月11日 与 2026-01-13 与 二〇二六年一月五日 及 一九九四年十二月六日") == [
        "2018-03-11", "2026-01-13", "2026-01-05", "1994-12-06"]
    assert find_dates("2025年2月30日，3.92亿元，第2025次") == []  # no such day; not dates


def test_filename_date_and_title_fallbacks():
    assert filename_date("公职人员政务处分法(2020-06-20).md") == "2020-06-20"
    assert filename_date("宪法修正案（2018年）.md") == ""
    meta = describe("第一条 正文。", "some/dir/监察法（2024-12-25）.md", None)
    assert (meta.title, meta.date, meta.year) == ("监察法", "2024-12-25", 2024)
    assert describe("正文。", "x.txt", "读者给的标题").title == "读者给的标题"
    assert describe("# 文内标题\n\n正文。", "x.txt", "读者给的标题").title == "文内标题"


@requires_shared
def test_zibo_news_page():
    text = strip_chrome(normalize_text(ZIBO.read_text(encoding="utf-8")))
    meta = describe(text, ZIBO.name, None)
    # "1月13日讯" dated with the latest year the report speaks of (2026, its "next year").
    assert meta == DocMeta(title="淄博政协这一年|以实干实绩交出履职新答卷", date="2026-01-13",
                           year=2026, issuer="齐鲁网·闪电新闻", kind="news", history=[])


def test_report_year_from_title_and_issuer_from_title():
    text = "# 政协淄博市委员会常务委员会2025年工作报告\n\n一年来，市政协围绕中心工作履职尽责。"
    meta = describe(text, "report.docx", None)
    assert (meta.kind, meta.date, meta.year, meta.issuer) == (
        "report", "", 2025, "政协淄博市委员会常务委员会")


def test_signature_date_and_wire_dateline():
    signed = "# 关于加强提案办理工作的通知\n\n各单位：\n\n请认真办理。\n\n淄博市政协办公室\n\n二〇二六年一月五日"
    meta = describe(signed, "notice.txt", None)
    assert (meta.kind, meta.date, meta.year, meta.issuer) == ("document", "2026-01-05", 2026, "")
    wire = "# 标题\n\n2026-01-14 08:30 来源：新华网\n\n新华社北京1月13日电 全国政协召开会议。"
    meta = describe(wire, "wire.html", None)
    assert (meta.kind, meta.date, meta.issuer) == ("news", "2026-01-13", "新华社")


def test_nothing_stated_means_empty_fields():
    meta = describe("委员们认真讨论，提出了许多意见。\n\n会议要求抓好落实。", "纪要.txt", None)
    assert meta == DocMeta(title="纪要", date="", year=0, issuer="", kind="document", history=[])
    local = describe("本报讯 1月13日，市政协召开会议。", "a.txt", None)
    assert (local.issuer, local.date) == ("", "")  # "本报" names no one; no year anywhere


@requires_scale
def test_scale_laws_header_dates():
    """How many of the 1,564 LawRefBook files yield a date (the figure in the ingest docs)."""
    files = sorted(SCALE_LAWS.rglob("*.md"))
    metas = [describe(p.read_text(encoding="utf-8"), p.name, None) for p in files]
    from_header = sum(1 for m in metas if m.history)
    dated = sum(1 for m in metas if m.date)
    assert len(files) == 1564
    assert from_header >= 1398 and dated >= 1521
    undated = [p for p, m in zip(files, metas) if not m.date]
    # Only court case notes and a guide lack dates: no law, regulation or interpretation does.
    assert all(p.parent.parent.name == "案例" or p.parent.name in ("案例", "其他") for p in undated)
