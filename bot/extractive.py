"""The offline answerer: the sentences of the retrieved passages that answer the question.

No model writes anything: every word of the answer is copied from a passage, so every figure in
it is in its citation by construction. The hard part is choosing — and refusing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.question import BODIES, QuestionInfo, focus_found, mentions_body
from bot.sentences import (FIGURE_KINDS, TOTAL, context_discounted, fits_kind, focus_near_figure,
                           has_unit, states_duration_of, term_coverage, total_of)
from ingest.splitter import sentence_spans

_CLAUSE = re.compile(r"[，,；;：:]")
_ITEM = re.compile(r"^[（(][一二三四五六七八九十\d]+[）)]|^[一二三四五六七八九十]+、|^\d+[.、]")
_ASKS_ARTICLE = re.compile(r"第几[条款]|哪一?[条款]")
_MAX_QUOTE = 80  # a figure needs little context around it
_MAX_QUOTE_WORDS = 150  # a rule or a name is read in its whole sentence
_EVENTS = ("通过", "修正", "修订", "修改", "施行", "公布", "发布", "批准")
_HISTORY_DATE = re.compile(r"((?:19|20)\d{2})年(\d{1,2})月(\d{1,2})日")


@dataclass
class Source:
    """A passage as the answerer sees it: text plus where it sits."""

    index: int  # rank among the retrieved passages (0 = best)
    text: str
    context: str  # title, headings, article: what the passage is about
    doc_id: str
    passage: object = None  # the retrieval Passage it came from
    header: bool = False  # a law's adoption and amendment history


@dataclass
class Pick:
    source: Source
    start: int  # quote span within source.text
    end: int
    coverage: float
    fits: bool
    score: float
    lead: tuple[int, int] | None = None  # the sentence introducing a list item

    @property
    def quote(self) -> str:
        return self.source.text[self.start:self.end]

    @property
    def lead_text(self) -> str:
        return self.source.text[self.lead[0]:self.lead[1]] if self.lead else ""


@dataclass
class Thresholds:
    """Calibrated on the dev sets' unanswerable questions (see evals/README.md)."""

    sentence: float = 0.25  # share of the question's terms in the chosen sentence
    evidence: float = 0.35  # ... in the chosen sentences, their passages and titles
    second: float = 0.5  # a second sentence must cover this share of what the first missed


def _body_bonus(text: str, bodies: tuple[str, ...] | list[str]) -> float:
    """Sentences about the body the question names beat their twins about another body."""
    if not bodies:
        return 0.0
    named = all(mentions_body(text, b) for b in bodies)
    other = any(mentions_body(text, b) for b in BODIES if b not in bodies)
    return 0.1 if named else (-0.1 if other else 0.0)


def _asks_article_number(q: QuestionInfo) -> bool:
    """'规定在第几条' — not '第几号令', which a law's history line answers."""
    return bool(_ASKS_ARTICLE.search(q.text))


def _asks_whole(q: QuestionInfo) -> bool:
    """A count asked of a body's year with no narrower topic ('淄博市政协2025年收到多少件提案'):
    the year's total answers it, not the figure of one field of work."""
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies)
    tags = dict(q.focus_candidates)
    return q.kind == "count" and bool(q.focus) and all(
        t in q.focus or tags.get(t) == "v" or any(f in t for f in framing) for t in q.terms)


def candidates(sources: list[Source], q: QuestionInfo, weights: dict[str, float],
               kind: str | None = None) -> list[Pick]:
    """Every sentence of every source, scored for this question (best first)."""
    kind = kind or q.kind
    top = max((_fused(s) for s in sources), default=0.0) or 1.0
    asked = _Asked(q.serial, kind, q.unit, tuple(q.focus), tuple(q.bodies), _asks_whole(q),
                   tuple(weights.items()), kind == "article" and _asks_article_number(q))
    picks = []
    for src in sources:
        prior = 0.1 * (_fused(src) / top) ** 4 if _fused(src) else 0.1 / (1 + 0.5 * src.index)
        for start, end, lead, coverage, fits, score in _scored(src.text, src.context,
                                                               _in_article(src), asked):
            picks.append(Pick(src, start, end, coverage, fits, score + prior, lead))
    return sorted(picks, key=lambda p: -p.score)


@dataclass(frozen=True)
class _Asked:
    """What sentence scores depend on, hashable: the reranker and the answerer score the same
    passages for the same question, and the second time costs a dictionary lookup. The
    question's serial keeps the cache to one question: the same text asked again is scored
    afresh, so a benchmark that repeats its questions measures what a new one costs."""

    question: int  # QuestionInfo.serial
    kind: str
    unit: str
    focus: tuple[str, ...]
    bodies: tuple[str, ...]
    whole: bool
    weights: tuple[tuple[str, float], ...]
    article_number: bool  # '规定在第几条': any sentence of an article answers with its label


def _in_article(src: Source) -> bool:
    meta = getattr(src.passage, "meta", None) or {}
    return bool(meta.get("article")) and not src.header


@lru_cache(maxsize=2048)
def _scored(text: str, context: str, in_article: bool, asked: _Asked
            ) -> tuple[tuple[int, int, tuple[int, int] | None, float, bool, float], ...]:
    """(start, end, lead, coverage, fits, score before the retrieval prior) per sentence."""
    kind, weights, focus = asked.kind, dict(asked.weights), list(asked.focus)
    passage_cov = term_coverage(context + "\n" + text, weights)
    telling = context_discounted(weights, context)
    out = []
    lead = None
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        if sentence.endswith(("：", ":")):
            lead = (start, end)
        if len(sentence) < 4:
            continue
        item_lead = lead if lead and lead[1] <= start else None
        framed = (text[item_lead[0]:item_lead[1]] if item_lead else "") + sentence
        own = term_coverage(framed, telling)
        cov = term_coverage(context + framed, weights)
        fits = fits_kind(framed if kind in ("who", "what") else sentence, kind)
        # '第几条': the article's number is the passage's label, whichever sentence says it.
        fits = fits or (asked.article_number and in_article)
        unit = bool(asked.unit) and has_unit(sentence, asked.unit)
        unit += kind == "count" and bool(TOTAL.search(sentence))
        near = kind in FIGURE_KINDS and focus_near_figure(sentence, focus)
        # '留置时间不得超过三个月': the asked thing is what the duration is of.
        near += 2.5 * (kind == "duration" and states_duration_of(sentence, focus))
        near += 1.5 * (asked.whole and total_of(sentence, focus))
        score = (0.4 * own + 0.15 * cov + 0.1 * passage_cov + 0.2 * fits + 0.05 * unit
                 + 0.1 * near + _body_bonus(context + framed, asked.bodies))
        out.append((start, end, item_lead, max(own, cov), fits, score))
    return tuple(out)


def about_focus(picks: list[Pick], q: QuestionInfo, keep: float = 0.7) -> list[Pick]:
    """When the question asks about a thing (a noun), sentences that name it come first, if
    they score near the best; then passages that name it; else all ('…政策宣讲' is answered by
    '131场政策宣讲', not by '专题宣讲66场次')."""
    if not (q.focus and q.focus_is_noun and picks):
        return picks
    top = picks[0].score
    for text_of in (lambda p: p.source.context + p.lead_text + p.quote,
                    lambda p: p.source.context + p.source.text):
        named = [p for p in picks if any(focus_found(t, text_of(p)) for t in q.focus)]
        if named and named[0].score >= keep * top:
            return named + [p for p in picks if p not in named]
    return picks


def _fused(src: Source) -> float:
    """The retrieval score of the passage (fused ranks), 0 for added history headers."""
    return float(getattr(src.passage, "score", 0.0) or 0.0) if not src.header else 0.0


def choose(picks: list[Pick], q: QuestionInfo, weights: dict[str, float],
           limits: Thresholds) -> list[Pick]:
    """The best sentence, plus one that covers what it misses (two-part questions)."""
    needs_figure = q.kind in FIGURE_KINDS
    usable = [p for p in picks if p.fits or not needs_figure]
    if not usable:
        return []
    best = usable[0]
    if q.kind == "article" and _asks_article_number(q):
        best = first_provision(usable, best, weights)
    chosen = [best]
    said = best.source.context + best.lead_text + best.quote
    # Years, places and bodies frame the question; a second sentence must add content.
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies)
    missing = {t: w for t, w in weights.items() if term_coverage(said, {t: w}) < 0.5
               and not any(f in t for f in framing)}
    two_parts = q.several and sum(missing.values()) > 0.2 * sum(weights.values())
    if two_parts and missing:
        for p in usable[1:8]:
            if p.quote == best.quote or p.score < 0.75 * best.score:
                continue
            if term_coverage(p.source.context + p.lead_text + p.quote, missing) >= limits.second:
                chosen.append(p)
                break
    return chosen


def first_provision(picks: list[Pick], best: Pick, weights: dict[str, float],
                    floor: float = 0.75) -> Pick:
    """'留置措施规定在第几条': a law provides for a measure before the articles that govern its
    use, so of the articles of the best sentence's law that name everything it names, the
    earliest answers."""
    def position(p: Pick) -> int:
        return int(p.source.passage.meta.get("position", 0))

    if not _in_article(best.source):
        return best
    named = {t for t in weights if term_coverage(best.quote, {t: 1.0}) == 1.0}
    same = [p for p in picks if p.source.doc_id == best.source.doc_id and _in_article(p.source)
            and p.score >= floor * best.score
            and all(term_coverage(p.quote, {t: 1.0}) == 1.0 for t in named)]
    return min(same, key=position, default=best)


def history_pick(headers: list[Source], asked_text: str, order: str,
                 weights: dict[str, float]) -> Pick | None:
    """For 'when was it adopted/amended/in force': the dated line of the law's history that
    `asked_text` means (通过/修正/施行…; the latest unless it asks for the first)."""
    lines = [(src, s, e) for src in headers for s, e in sentence_spans(src.text)
             if _HISTORY_DATE.search(src.text[s:e])]
    if not lines:
        return None
    asked = _asked_events(asked_text)
    matching = [ln for ln in lines if any(ev in ln[0].text[ln[1]:ln[2]] for ev in asked)] or lines
    key = lambda ln: _date_key(ln[0].text[ln[1]:ln[2]])  # noqa: E731
    first = order == "earliest" or ("通过" in asked and not order and "修" not in asked_text)
    src, start, end = min(matching, key=key) if first else max(matching, key=key)
    line = src.text[start:end]
    return Pick(src, start, end, term_coverage(src.context + line, weights), True, 1.0)


def _asked_events(text: str) -> list[str]:
    """The event asked about: the one nearest the question word ('现在施行的…是哪天修订的'
    asks 修订; '修订后从哪天起施行' asks 施行)."""
    text = text.replace("修宪", "修正").replace("制定", "通过").replace("颁布", "通过")
    found = [(ev, m.start()) for ev in _EVENTS for m in re.finditer(ev, text)]
    ask = re.search(r"哪天|哪一天|何时|什么时候|哪一年|哪年|日期", text)
    if not found or not ask:
        return [ev for ev, _ in found]
    dist = lambda f: min(abs(f[1] - ask.end()), abs(ask.start() - f[1] - len(f[0])))  # noqa: E731
    nearest = min(found, key=dist)[0]
    amended = [ev for ev in ("修正", "修订", "修改") if ev in text]
    if nearest == "通过" and amended:
        return amended  # '修正是哪天通过的': the 通过 is the amendment's
    return [nearest]


def _date_key(line: str) -> tuple[int, int, int]:
    m = _HISTORY_DATE.search(line)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)


def trim(pick: Pick, q: QuestionInfo, weights: dict[str, float]) -> Pick:
    """A long sentence shrinks to the clauses that answer, kept verbatim and contiguous."""
    text = pick.quote
    limit = _MAX_QUOTE if q.kind in FIGURE_KINDS else _MAX_QUOTE_WORDS
    if len(text) <= limit:
        return pick
    cuts = [0] + [m.end() for m in _CLAUSE.finditer(text)] + [len(text)]
    clauses = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]
    best, best_score = (0, len(text)), -1.0
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            s, e = clauses[i][0], clauses[j][1]
            if e - s > _MAX_QUOTE and j > i:
                break
            window = text[s:e]
            score = term_coverage(window, weights) + 0.5 * fits_kind(window, q.kind)
            score += 0.3 * any(focus_found(t, window) for t in q.focus)
            score += 0.3 * bool(q.bodies) * all(mentions_body(window, b) for b in q.bodies)
            if q.unit:
                score += 0.3 * has_unit(window, q.unit)
            if q.kind in FIGURE_KINDS:
                score += 0.3 * focus_near_figure(window, q.focus)
            score -= 0.001 * (e - s)  # prefer the shorter of equal windows
            if score > best_score:
                best, best_score = (s, e), score
    s, e = best
    if q.kind in ("what", "who", "yesno") and e < len(text):
        nxt = [c for c in clauses if c[0] >= e]
        if nxt and nxt[0][1] - s <= _MAX_QUOTE + 30:
            e = nxt[0][1]  # names and rules tend to follow the words that lead to them
    while e > s and text[e - 1] in "，,；;：: ":
        e -= 1
    return replace(pick, start=pick.start + s, end=pick.start + e)
