"""Figures in Chinese text — numbers, dates, percentages, fractions — as comparable values.

`6000万元`, `6,000万元` and `六千万元` are one value; `十五日` equals `15日`; `三分之二` equals
`2/3`. The number guard compares these values, never the raw strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
CN_CHARS = "零〇○一二三四五六七八九十百千万亿两"
# A lone Chinese numeral is a figure only before a unit or measure word (一般, 统一 are not).
_MEASURE = "年月日天个次件条款项章节名人家位岁元倍分号届场篇期批类种周小时秒季度轮"

_ARABIC = re.compile(r"(\d+(?:[,，]\d{3}(?!\d))*(?:\.\d+)?)\s*(万|亿)?\s*(%|％)?")
_FRACTION_CN = re.compile(rf"([{CN_CHARS}\d]+)分之([{CN_CHARS}\d]+)")
_FRACTION_AR = re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])")
_PERCENT_CN = re.compile(rf"百分之([{CN_CHARS}点\d.]+)")
_CN_RUN = re.compile(rf"[{CN_CHARS}]+")


@dataclass(frozen=True)
class Figure:
    text: str  # as written
    value: float
    kind: str  # number | percent | fraction
    start: int
    end: int


def cn_to_number(run: str) -> float | None:
    """一百二十 -> 120, 十五 -> 15, 两 -> 2, 一九四九 -> 1949, 三千万 -> 30000000."""
    if not run or any(ch not in CN_CHARS for ch in run):
        return None
    if len(run) > 1 and all(ch in _DIGITS for ch in run):
        return float("".join(str(_DIGITS[ch]) for ch in run))  # digit by digit: years
    total, section, digit = 0, 0, None
    for ch in run:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        elif ch in _BIG:
            section += digit or 0
            total += (section or 1) * _BIG[ch]
            section, digit = 0, None
    return float(total + section + (digit or 0))


def _num(token: str) -> float | None:
    token = token.replace(",", "").replace("，", "")
    try:
        return float(token)
    except ValueError:
        pass
    if "点" in token:  # 零点五 -> 0.5
        whole, _, frac = token.partition("点")
        head = cn_to_number(whole) if whole else 0.0
        digits = "".join(str(_DIGITS[ch]) for ch in frac if ch in _DIGITS)
        return None if head is None or not digits else float(f"{int(head)}.{digits}")
    return cn_to_number(token)


def find_figures(text: str) -> list[Figure]:
    """Every figure in `text`, left to right; overlapping forms are read once."""
    found: list[Figure] = []
    taken = [False] * (len(text) + 1)

    def add(start: int, end: int, value: float | None, kind: str) -> None:
        if value is None or any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        found.append(Figure(text[start:end], round(value, 6), kind, start, end))

    for m in _PERCENT_CN.finditer(text):
        add(m.start(), m.end(), _num(m.group(1)), "percent")
    for m in _FRACTION_CN.finditer(text):
        num, den = _num(m.group(2)), _num(m.group(1))
        add(m.start(), m.end(), num / den if num is not None and den else None, "fraction")
    for m in _FRACTION_AR.finditer(text):
        num, den = float(m.group(1)), float(m.group(2))
        if den and not _looks_like_date(text, m):
            add(m.start(), m.end(), num / den, "fraction")
    for m in _ARABIC.finditer(text):
        value = _num(m.group(1))
        if value is not None and m.group(2):
            value *= _BIG[m.group(2)]
        add(m.start(), m.end(), value, "percent" if m.group(3) else "number")
    for m in _CN_RUN.finditer(text):
        run = m.group(0)
        if _is_cn_figure(text, m.start(), m.end(), run):
            add(m.start(), m.end(), cn_to_number(run), "number")
    return sorted(found, key=lambda f: f.start)


def _looks_like_date(text: str, m: re.Match) -> bool:
    return m.end() < len(text) and text[m.end()] == "/"


_NOT_NUMBERS = ("十分", "万一", "一旦", "一直", "一致", "一律", "一并", "一起")  # adverbs


def _is_cn_figure(text: str, start: int, end: int, run: str) -> bool:
    if run in ("万", "亿", "千", "百") or set(run) <= set("万亿"):
        return False
    word = text[start:start + 2]
    if word in _NOT_NUMBERS and text[start + 2:start + 3] != "之":
        return False
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before == "第" or len(run) > 1 and any(ch in _UNITS or ch in _BIG for ch in run):
        return True
    return after != "" and after in _MEASURE


def figure_values(text: str) -> set[float]:
    return {f.value for f in find_figures(text)}


_MARKER = re.compile(r"\[\d+\]")


def untraced_figures(answer: str, sources: list[str]) -> list[str]:
    """Figures of `answer` whose value occurs in none of `sources` (the number guard)."""
    known: set[float] = set()
    for source in sources:
        known |= figure_values(source)
    bare = _MARKER.sub(lambda m: " " * len(m.group(0)), answer)  # [n] markers are not figures
    return [f.text for f in find_figures(bare) if f.value not in known]
