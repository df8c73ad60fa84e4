"""Does the evidence match what the question names? Plain checks; each failure says why.

Retrieval scores cannot tell a near miss from an answer (the right topic, but 全国人大 instead of
全国政协, or 2024 instead of 2025), so the answer is checked against the question's own words.
"""

from __future__ import annotations

import re

from dataclasses import dataclass

from bot.figures import find_figures
from bot.question import BODIES, QuestionInfo, focus_found, mentions_body
from bot.sentences import counts, has_unit


@dataclass
class Evidence:
    """What a candidate answer rests on: its sentences, their passages and documents."""

    sentences: str
    passages: str
    titles: str
    doc_years: set[int]
    doc_texts: str  # whole documents, for places a passage leaves implicit ("我市")
    doc_kinds: set[str]  # law | news | report | document
    version_years: set[int]  # for laws: the year of the version in the knowledge base
    history_years: set[int]  # for laws: every year of its adoption and amendment history
    doc_titles: tuple[str, ...] = ()  # the documents' own titles


def mismatch(q: QuestionInfo, ev: Evidence) -> str:
    """Why the evidence does not answer q, or '' when it matches the question's names."""
    context = ev.passages + ev.titles
    if q.titles and ev.doc_titles and not any(
            name in ev.passages or any(names_document(name, t) for t in ev.doc_titles)
            for name in q.titles):
        return f"知识库中没有《{q.titles[0]}》，资料出自《{ev.doc_titles[0]}》"
    if _NORMATIVE.search(q.text) and ev.doc_kinds and ev.doc_kinds <= {"news"}:
        return "问题问的是规定，资料却是新闻报道，其中没有相关规定"
    for body in q.bodies:
        if mentions_body(context, body):
            continue
        # Evidence about another body answers a question about this one only by accident.
        others = [b for b in BODIES if b not in q.bodies
                  and mentions_body(ev.sentences + ev.titles, b)]
        if others:
            return f"资料说的是{others[0]}，没有关于问题中“{body}”的内容"
    if _NATIONAL.search(q.text) and "全国" not in ev.sentences + ev.titles:
        about = next((p for p in _PLACES_IN(ev.titles + ev.sentences)), "")
        # A local report names its place once, near the top ('淄博市政协…'), and then says
        # just '在淄博': what the documents say they are about counts too.
        if not about and ev.doc_kinds - {"law"}:
            about = next((p for p in _PLACES_IN(ev.doc_texts[:1000])), "")
        if about or "市" in ev.titles or "我市" in ev.sentences:
            return f"问题问的是全国层面，资料说的是{about or '地方'}的情况"
    for place in q.places:
        if place not in context and place not in ev.doc_texts:
            return f"资料中没有关于“{place}”的内容"
    for year in q.years:
        if q.version_year == year and ev.version_years:
            if year not in ev.version_years and not _asks_history(q, year, ev):
                return f"知识库中只有该法的{_fmt(ev.version_years)}年版本，没有{year}年版本"
            continue
        if year not in ev.doc_years and f"{year}年" not in context:
            return f"资料中没有{year}年的相关内容"
    return ""


def names_document(name: str, title: str) -> bool:
    """Does 《name》 in a question mean the document titled `title`? A short name keeps the
    title's characters in order (政协章程 → 中国人民政治协商会议章程, 监察法 → 中华人民共和国
    监察法), a long one contains the title; 监察法实施条例 is not 劳动保障监察条例."""
    return _in_order(name, title) or (len(title) >= 2 and _in_order(title, name))


def _in_order(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)


_NATIONAL = re.compile(r"全国政协|全国人大|全国人民代表大会|全国委员会")


def _PLACES_IN(text: str) -> list[str]:
    from bot.question import places_in

    return places_in(text)


# '按规定…应当…' asks what a rule says; a news report tells what happened, not the rule.
_NORMATIVE = re.compile(r"按规定|依规定|按照规定|依法|法定|按照.{0,8}(法|条例)|根据.{0,8}(法|条例)|"
                        r"应当在|必须在|要求在")


def _asks_history(q: QuestionInfo, year: int, ev: Evidence) -> bool:
    """'哪天通过的' about an old version is answered by the history of the current one."""
    return q.kind in ("date", "year") and year in ev.history_years


def _fmt(years: set[int]) -> str:
    return "、".join(str(y) for y in sorted(years))


def off_focus(q: QuestionInfo, ev: Evidence) -> str:
    """'秘书长是谁' answered by a sentence about the 政协 in general is no answer."""
    if not q.focus_is_noun:
        return ""  # a verb can be paraphrased (承办 -> 办理); a missing noun cannot
    text = ev.sentences + ev.passages + ev.titles
    missing = [t for t in q.focus if not focus_found(t, text)]
    return f"资料中没有提到“{missing[0]}”" if missing else ""


def only_stated(q: QuestionInfo, picks) -> str:
    """A count the question itself gives ('那452场活动里…多少场') is not an answer to it."""
    if q.kind not in ("count", "duration", "ratio") or not q.stated:
        return ""
    found = {f.value for p in picks for s, e in counts(p.quote)
             for f in find_figures(p.quote[s:e])}
    if found and found <= set(q.stated):
        return "资料中只有问题里已经给出的数字，没有所问的数字"
    return ""


_STRICT_UNITS = set("件家名条场篇次项位届天日月年元人号") | {"场次", "工作日", "钱", "岁"}


def wrong_unit(q: QuestionInfo, picks) -> str:
    """'多少名委员' is not answered by '44家工作室': a count of the asked unit must be there."""
    if q.kind not in ("count", "duration") or q.unit not in _STRICT_UNITS:
        return ""
    if any(has_unit(p.quote, q.unit) for p in picks):
        return ""
    return f"资料中没有以“{q.unit}”计的数字"
