"""Word tokens for the keyword index and for matching questions to sentences (jieba)."""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from functools import lru_cache

_lock = threading.Lock()
_ready = False

# Function words that carry no topic; kept short on purpose (numbers and measure words stay).
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 等 对 于 也 都 就 而 并 其 之 把 被 让 给 向 从 以 为 由 将 这 那 "
    "个 中 上 下 里 吗 呢 吧 啊 呀 么 什么 怎么 怎样 如何 哪 哪些 哪个 哪里 多少 几 谁 是否 "
    "有没有 能 能否 可以 应当 应该 要 会 请问 一下 我 我们 你 你们 他 她 它 他们 该 此 "
    "按 按照 根据 依照 规定 有关 相关 问 请".split())
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


def _jieba():
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba


_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")


def normalize(text: str) -> str:
    """Full-width to ASCII, lower case, no thousands separators: 'ＡＢＣ６,０００' ~ 'abc6000'."""
    return _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).lower())


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Search-mode jieba tokens (long words and their parts), without punctuation."""
    jieba = _jieba()
    out = []
    for tok in jieba.cut_for_search(normalize(text)):
        tok = tok.strip()
        if not tok or not _WORD.search(tok):
            continue
        if not keep_stopwords and tok in STOPWORDS:
            continue
        out.append(tok)
    return out


def words(text: str) -> list[str]:
    """Accurate-mode words (no overlapping parts), punctuation dropped, stopwords kept."""
    return [w for w in (t.strip() for t in _jieba().cut(normalize(text))) if w and _WORD.search(w)]


def pos_tags(text: str) -> list[tuple[str, str]]:
    """(word, part of speech) pairs; `ns` marks place names."""
    _jieba()
    import jieba.posseg

    return [(p.word, p.flag) for p in jieba.posseg.cut(text)]


@lru_cache(maxsize=1)
def _char_counts() -> tuple[dict[str, int], int]:
    """How often each character is written in Chinese, read from jieba's dictionary: the sum of
    the frequencies of the words holding it."""
    counts: dict[str, int] = {}
    for word, freq in _jieba().dt.FREQ.items():
        if freq:
            for ch in set(word):
                counts[ch] = counts.get(ch, 0) + freq
    return counts, sum(counts.values())


def char_rarity(ch: str) -> float:
    """How rare a character is in written Chinese (-log of its share): 的 5.6, 蛇 9.8, 瘰 14.8. A
    rare character in a question is most likely part of the name of what it asks about."""
    counts, total = _char_counts()
    return math.log(total / (counts.get(ch, 0) + 1))
