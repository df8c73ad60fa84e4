"""Scoring sentences against a question: term coverage and the kind of figure asked for."""

from __future__ import annotations

import re

from bot.figures import find_figures
from bot.question import aliases, normalized, unit_chars

_CN_DIGITS = "〇○零一二三四五六七八九"
_CN_SMALL = "一二三四五六七八九十"
_DATE = re.compile(rf"((?:19|20)\d{{2}}|[{_CN_DIGITS}]{{4}})年\s*(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})月"
                   rf"((\d{{1,2}}|[{_CN_SMALL}]{{1,3}})日)?|(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})月"
                   rf"(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})日")
_YEAR = re.compile(r"(?:19|20)\d{2}年|[一二][〇○零一二三四五六七八九]{3}年")
_DURATION_UNIT = re.compile(r"^\s*(?:个)?(?:工作日|小时|日|天|个月|月|年|周)")
_ORG = re.compile(r"委员会|机关|机构|部门|政府|法院|检察院|主席|主任|单位|组织|代表大会|国务院|团体|"
                  r"办公厅|常委会|公安|监委|[\u4e00-\u9fff]{1,6}(?:部|局|署|厅|办公室)(?![分队])")
_FREQUENCY = re.compile(r"每[日天年月周季届次]|定期|经常|随时")
_ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇\d]+[条款号届次项]")
_RATIO = re.compile(r"分之|%|％|半数|多数")
_SKIP_AFTER_FIGURE = "余多个近约"
FIGURE_KINDS = {"count", "duration", "date", "year", "ratio", "article", "frequency"}


def term_coverage(text: str, weights: dict[str, float]) -> float:
    """Weighted share of question terms found in text; a partly matching term earns part."""
    total = sum(weights.values())
    if not total:
        return 0.0
    norm = normalized(text)
    got = 0.0
    for term, weight in weights.items():
        if term in norm or any(alias in norm for alias in aliases(term)):
            got += weight
        elif len(term) >= 2:
            got += weight * 0.6 * _bigram_share(term, norm)
    return got / total


def _bigram_share(term: str, text: str) -> float:
    grams = [term[i:i + 2] for i in range(len(term) - 1)]
    return sum(g in text for g in grams) / len(grams) if grams else 0.0


def _dates_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _DATE.finditer(text)]


# Policy slogans count nothing: 八项规定, 三项建设, 两支队伍, 三级联动, 三联系.
_SLOGAN = re.compile(r"^[项支级个大]?[“”\"]?[\u4e00-\u9fff]{0,2}?(规定|建设|队伍|联动|联系|制度|机制|服务|"
                     r"结合|原则|意识|自信|维护|作风|精神|工作|全会)")


def counts(text: str) -> list[tuple[int, int]]:
    """Spans of figures that are counts or amounts, not parts of dates or slogans."""
    dates = _dates_spans(text)
    out = []
    for f in find_figures(text):
        if any(s <= f.start < e for s, e in dates):
            continue
        if f.text in "一二两三四五六七八九十" and _SLOGAN.match(text[f.end:f.end + 6]):
            continue
        after = text[f.end:f.end + 1]
        if after == "年" and 1900 <= f.value <= 2100:
            continue  # a year
        if text[max(0, f.start - 1):f.start] == "第":
            continue  # an ordinal (第十二条)
        out.append((f.start, f.end))
    return out


def has_unit(text: str, unit: str) -> bool:
    """A count followed by the measure word asked for (天 and 日 alike; 余/多 may sit between)."""
    allowed = unit_chars(unit)
    for _, end in counts(text):
        rest = text[end:end + 4].lstrip(_SKIP_AFTER_FIGURE)
        if rest.startswith(unit) or (rest and rest[0] in allowed) or rest.startswith("万" + unit):
            return True
        if unit == "钱" and re.match(r"[万亿]?元", rest):
            return True
    return False


def fits_kind(text: str, kind: str) -> bool:
    """Could this sentence state the kind of answer asked for?"""
    if kind == "count":
        return bool(counts(text))
    if kind == "duration":
        return any(_DURATION_UNIT.match(text[e:e + 4].lstrip(_SKIP_AFTER_FIGURE))
                   for _, e in counts(text))
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "year":
        return bool(_YEAR.search(text))
    if kind == "ratio":
        return bool(_RATIO.search(text))
    if kind == "who":
        return bool(_ORG.search(text))
    if kind == "frequency":
        return bool(_FREQUENCY.search(text))
    if kind == "article":
        return bool(_ARTICLE.search(text))
    return True


def focus_near_figure(text: str, focus: list[str], window: int = 12) -> bool:
    """A figure close to the word asked about: '留置时间不得超过三个月' for 留置…多久,
    '636件提案' for 提案数量."""
    norm = normalized(text)
    spans = counts(text)
    for term in focus:
        for m in re.finditer(re.escape(term), norm):
            if any(0 <= s - m.end() <= window or 0 <= m.start() - e <= 2 for s, e in spans):
                return True
    return False


TOTAL = re.compile(r"全年|共计|总计|累计|合计|一年来|全部")  # a year's total, not one part of it
_TOTAL_BEFORE = re.compile(rf"(?:{TOTAL.pattern}|共)\s*$")


def total_of(text: str, focus: list[str]) -> bool:
    """A whole stated as such right before the thing asked about: '全年636件提案'."""
    norm = normalized(text)
    for s, e in counts(text):
        # find() is -1 when the thing is absent, which fails the distance check too
        if _TOTAL_BEFORE.search(norm[max(0, s - 4):s]) and any(
                0 <= norm.find(t, e) - e <= 2 for t in focus):
            return True
    return False


def states_duration_of(text: str, focus: list[str]) -> bool:
    """'留置时间不得超过三个月': the way a rule states how long something may last."""
    norm = normalized(text)
    return any(re.search(re.escape(t) + r"(?:的)?(?:时间|期限|期间|期)", norm) for t in focus)


def context_discounted(weights: dict[str, float], context: str, factor: float = 0.3
                       ) -> dict[str, float]:
    """Words the title already says (淄博, 政协 in a report on 淄博政协) tell its sentences
    apart less than the words they do not share."""
    return {t: w * factor if term_coverage(context, {t: 1.0}) >= 0.5 else w
            for t, w in weights.items()}
