"""What a sentence says that a question can ask for: figures of a kind, units, totals, terms.

Plain functions over strings; the evidence stage turns their answers into features.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.answering.analysis import FIGURE_KINDS, aliases, normalized, unit_chars  # noqa: F401
from bot.answering.lexicon import lexicon
from bot.figures import find_figures
from ingest.splitter import CN_NUM
from ingest.tokens import char_rarity

_CN_DIGITS = "〇○零一二三四五六七八九"
_CN_SMALL = "一二三四五六七八九十"
# A year is any three- or four-digit one (天启五年（1625年）, 公元571年), not only 19xx/20xx.
_Y = rf"(?:\d{{3,4}}|[{_CN_DIGITS}]{{4}})"
_DATE = re.compile(rf"({_Y})年\s*(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})月"
                   rf"((\d{{1,2}}|[{_CN_SMALL}]{{1,3}})日)?|(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})月"
                   rf"(\d{{1,2}}|[{_CN_SMALL}]{{1,3}})日")
_YEAR = re.compile(rf"(?<![\d.]){_Y}\s*年|[一二][{_CN_DIGITS}]{{3}}年")
# 'When' is also answered by a month (花期3－4月), a decade or a century (60年代, 19世纪).
_WHEN = re.compile(rf"(?<![\d.])\d{{1,2}}\s*月|[{_CN_SMALL}]{{1,3}}月|\d+\s*(?:年代|世纪)|"
                   rf"[{_CN_SMALL}]+(?:年代|世纪)")
# How long: a time (three months, 30秒) or, for 多长, a length (1,980米, 65-70厘米).
_DURATION_UNIT = re.compile(r"^\s*(?:个)?(?:工作日|小时|分钟|秒|日|天|个月|月|年|周|星期|"
                            r"米|公里|千米|厘米|公分|毫米|公尺|英尺|英里|英寸)")
# An ordinal: 第十二条 in a law, 第二代 or 第十八张 anywhere.
_ARTICLE = re.compile(r"第[一二三四五六七八九十百零〇\d]+[^\s，,。；;、\d]")
_SKIP_AFTER_FIGURE = "余多个近约"
_ORDINAL = re.compile(rf"第\s*[\d{CN_NUM}]+(?![\d{CN_NUM}]|\s*[条款项章节编])")


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


@lru_cache(maxsize=16384)
def counts(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of figures that are counts or amounts, not parts of dates or slogans. Cached: each
    sentence is asked about by several features of one question."""
    slogan = lexicon().slogan
    dates = [m.span() for m in _DATE.finditer(text)]
    out = []
    for f in find_figures(text):
        if any(s <= f.start < e for s, e in dates):
            continue
        if f.text in "一二两三四五六七八九十" and slogan.match(text[f.end:f.end + 6]):
            continue
        if text[f.end:f.end + 1] == "年" and 1900 <= f.value <= 2100:
            continue  # a year
        if text[max(0, f.start - 1):f.start] == "第":
            continue  # an ordinal (第十二条)
        out.append((f.start, f.end))
    return tuple(out)


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
    lex = lexicon()
    if kind == "count":
        return bool(counts(text))
    if kind == "duration":
        return any(_DURATION_UNIT.match(text[e:e + 4].lstrip(_SKIP_AFTER_FIGURE))
                   for _, e in counts(text))
    if kind == "date":
        return bool(_DATE.search(text) or _YEAR.search(text) or _WHEN.search(text))
    if kind == "year":
        return bool(_YEAR.search(text))
    if kind == "ratio":
        return bool(lex.ratio.search(text))
    if kind == "who":
        return bool(lex.organisation.search(text))
    if kind == "frequency":
        return bool(lex.frequency.search(text))
    if kind == "article":
        return bool(_ARTICLE.search(text))
    return True


def states_figure(text: str) -> bool:
    """Does it state a count, duration, share, frequency or rank at all, exactly or roughly
    ('排名第51', '第26届', '百余场'; a provision's number, '第十四条', is a reference, not a
    figure)?"""
    return bool(_ORDINAL.search(text) or lexicon().approximate.search(text)) or any(
        fits_kind(text, kind) for kind in ("count", "duration", "ratio", "frequency"))


def figure_values(text: str) -> set[float]:
    """The values of the counts and ranks a text states — not the parts of its dates: '2009年4月'
    states no 4, '排名第147位' states 147."""
    spans = list(counts(text)) + [m.span() for m in _ORDINAL.finditer(text)]
    return {f.value for s, e in spans for f in find_figures(text[s:e])}


def focus_near_figure(text: str, focus: tuple[str, ...] | list[str], window: int = 12) -> bool:
    """A figure close to the word asked about: '留置时间不得超过三个月' for 留置…多久."""
    norm = normalized(text)
    spans = counts(text)
    for term in focus:
        for m in re.finditer(re.escape(term), norm):
            if any(0 <= s - m.end() <= window or 0 <= m.start() - e <= 2 for s, e in spans):
                return True
    return False


def total_of(text: str, focus: tuple[str, ...] | list[str]) -> bool:
    """A whole stated as such right before the thing asked about: '全年636件提案'."""
    norm = normalized(text)
    before = re.compile(rf"(?:{lexicon().total.pattern}|共)\s*$")
    for s, e in counts(text):
        if before.search(norm[max(0, s - 4):s]) and any(
                0 <= norm.find(t, e) - e <= 2 for t in focus):
            return True
    return False


def states_duration_of(text: str, focus: tuple[str, ...] | list[str]) -> bool:
    """'留置时间不得超过三个月': the way a rule states how long something may last."""
    norm = normalized(text)
    return any(re.search(re.escape(t) + r"(?:的)?(?:时间|期限|期间|期)", norm) for t in focus)


def years_named(text: str) -> set[int]:
    return {int(m.group(0)[:4]) for m in re.finditer(r"(?:19|20)\d{2}(?=年)", text)}


_PAIR = re.compile(r"(?=([^\W_]{2}))")  # every overlapping pair of letters or digits


def bigrams(text: str) -> frozenset[str]:
    """Character pairs of the normalised text, punctuation and spaces left out."""
    return frozenset(_PAIR.findall(normalized(text)))


# Characters that can name a thing; digits and letters are left to the figure and year features
# (the dictionary's rarities say nothing of them: a year in the question would weigh most).
_SAYABLE = re.compile(r"[\u4e00-\u9fff]")


def unsaid(question: str, text: str) -> tuple[float, float]:
    """What of the question a passage does not say, by its Chinese characters: those of the
    question (less its question words) in no two-character run of it that the passage holds,
    as (the rarity of the rarest, their share of the question's rarity; `char_rarity`). A
    question about another thing than the passage is about misses a rare character of that
    thing's name: '鳄蜥主要以什么为食' against '钩鼻海蛇主要以鱼类为食' leaves 鳄 and 蜥."""
    asked = lexicon().asking.sub(" ", normalized(question))
    text = normalized(text)
    said = [False] * len(asked)
    for i in range(len(asked) - 1):
        if asked[i:i + 2] in text:
            said[i] = said[i + 1] = True
    chars = [(ch, ok) for ch, ok in zip(asked, said) if _SAYABLE.match(ch)]
    total = sum(char_rarity(ch) for ch, _ in chars)
    missing = [char_rarity(ch) for ch, ok in chars if not ok]
    return max(missing, default=0.0), sum(missing) / total if total else 0.0


_NAME_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_TITLE_NOTE = re.compile(r"_?[(（][^)）]*[)）]")


@lru_cache(maxsize=1)
def _not_name_chars() -> frozenset[str]:
    """Characters that end a name rather than continue it: the lexicon's edge and function
    characters and those of the words that lead or join names ('按', '的', '和')."""
    lex = lexicon()
    words = f"{lex.name_lead.pattern}{lex.name_joins.pattern}"
    return frozenset(lex.edge_leading) | frozenset(lex.edge_trailing) | lex.function_chars \
        | frozenset(ch for ch in words if _SAYABLE.match(ch))


def names_sibling(question: str, title: str) -> float:
    """Whether the question names a sibling of the passage's subject rather than the subject:
    a run of the title's characters stands in the question, but the question's name goes on
    from it otherwise than the title does ('东直门站' against 《西直门站》, '红嘴蓝鹊' against
    《黄嘴蓝鹊》, 刑事诉讼法 against 《…民事诉讼法》). When a Wikipedia article is left out of the
    knowledge base, its questions are answered from articles on like things (two stations of
    one line, two birds of one genus), and their names differ just so. The share of the title
    the longest such run covers; 0 when the question names the whole title or no run of two
    characters."""
    title = normalized(_TITLE_NOTE.sub("", title)).strip("《》 ")
    asked = normalized(question)
    if len(title) < 2 or title in asked:
        return 0.0
    stops = _not_name_chars()

    def differs(a: str, b: str) -> bool:
        return bool(_NAME_CHAR.match(a) and _NAME_CHAR.match(b)) and a not in stops and a != b

    best = 0
    for i in range(len(asked) - 1):
        for j in range(len(title) - 1):
            if asked[i] != title[j] or (i and j and asked[i - 1] == title[j - 1]):
                continue  # a run starts where the two first agree
            k = 0
            while i + k < len(asked) and j + k < len(title) and asked[i + k] == title[j + k]:
                k += 1
            if k < 2 or k <= best:
                continue
            before = i and j and differs(asked[i - 1], title[j - 1])
            after = i + k < len(asked) and j + k < len(title) and differs(asked[i + k],
                                                                         title[j + k])
            if before or after:
                best = k
    return best / len(title)
