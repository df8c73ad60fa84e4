"""Stage 3, decision: pick the sentence that answers, add the one a two-part question needs, or
refuse — and say why with a reason code; and when another document would answer just as
surely with a different figure, show both (`disputed`) rather than one as fact.

Why did a question abstain? Read `decide` top to bottom: no candidates; then the hard checks
(each a named function below: the evidence contradicts the question); then a figure asked that
no sentence in reach states (`with_figure`); then the fitted judge's probability against the
model's threshold — unless the answer is a lookup (the history line of a law the question
names) or says all the question says (`says_all`). Nothing else refuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from bot.answering.analysis import Analysis, focus_found, in_order, mentions_body, names_law
from bot.answering.clues import (FIGURE_KINDS, counts, fits_kind, focus_near_figure, has_unit,
                                 names_sibling, states_figure, term_coverage, unsaid)
from bot.answering.evidence import FEATURES, Candidate, Evidence, Source
from bot.answering.lexicon import lexicon
from bot.answering.model import AnswerModel, genre, sigmoid
from bot.answering.reasons import HARD, Reason
from ingest.splitter import CN_NUM, clause_cuts, sentence_spans

_MAX_QUOTE = 80  # a figure needs little context around it
# A rule or a name is read in its whole sentence. Held out (evals/fit_answerer.py, five folds by
# document, 2026-12-07): 150 -> 200 kept a right answer a cut had dropped for 8 of 2,715 CMRC
# questions read with a fixed selector; refitted, CMRC 0.897 -> 0.901 (26 better, 17 worse,
# within chance) and scale_dev 0.925 -> 0.900 (one question); an answer grows 1 character on
# average.
_MAX_QUOTE_WORDS = 200
_HISTORY_DATE = re.compile(r"((?:19|20)\d{2})年(\d{1,2})月(\d{1,2})日")
_SECOND = 0.5  # a second sentence must cover this share of what the first leaves out
_REACH = 3.0  # a sentence this far below the best in the selector's log-odds is still in reach
# The sentence beside the best one, this close to it in log-odds, is shown with it
# (`neighbour_part`). Read from held-out selector scores (evals/fit_report.json,
# `beside_by_reach`, five folds by document): a right sentence among those shown, CMRC
# 0.898 -> 0.915 with 7.6 % of answers a sentence longer (laws 0.825 -> 0.875, 15 %); 1.0 gains
# half as much, 3.0 lengthens twice as many answers for little more.
_NEIGHBOUR_REACH = 2.0
_SPREAD_TOP = 5  # the best passages whose documents the judge counts (`spread`)
# The next-best sentence of the best one's document, this close to it in log-odds, is shown with
# it too (`runner_up`), when the question asks no figure. Read from held-out selector scores
# (evals/fit_answerer.py `runner_up_by_reach`, five folds by document, the questions asking no
# figure; evals/fit_report.json): a right sentence among those shown, CMRC 0.903 -> 0.927 with
# 7.9 % of answers a sentence longer; 0.5 gains two thirds of that, 1.5 and 2.0 each lengthen
# 4 % more answers for 0.6 and 0.4 points. End to end, held out: CMRC 0.875 -> 0.891 (42
# better, none worse).
_RUNNER_UP_REACH = 1.0
_ITEM_START = re.compile(rf"^[（(]?[{CN_NUM}\d]{{1,3}}[)）、.．]")  # （二） 2. 三、: an item
_CONTINUED = 2  # the clauses after one ending in '；' shown with it, at most
_DISPUTE_KINDS = frozenset({"count", "ratio", "duration", "frequency"})  # figures with a unit
# Kinds whose answer is a figure written as one (a date may be an era or a season: '洪武二十五年',
# '晚春或初夏'; an article number is the citation's).
_STATED_FIGURE_KINDS = _DISPUTE_KINDS
JUDGE_FEATURES = FEATURES + ("score", "lead", "second_part", "dated", "unseen", "unsaid_rarest",
                             "unsaid_share", "spread_documents", "spread_share", "sibling")
# Judge features a genre does not read (`unread`): they are missing (NaN) in its rows, and its
# own judge is fitted without them (evals/fit_answerer.py `fit_judges`). A member names a law's
# matter in their own words ('打官司', '交钱'), so a law's passage leaves much of a fair question
# unsaid; and a law question's articles may stand in several laws at once. An article or report
# is asked about by the name it uses, and its best passages gather in it. Held out
# (evals/fit_answerer.py, 2026-12-07), unsaid read for laws too cost scale_dev 0.925 -> 0.85 and
# cppcc_dev 0.938 -> 0.908, answerable law questions refused.
UNREAD = {"law": ("unsaid_rarest", "unsaid_share", "spread_documents", "spread_share")}
_UNSAID = tuple(JUDGE_FEATURES.index(n) for n in ("unsaid_rarest", "unsaid_share"))


@dataclass(frozen=True)
class DocFacts:
    """What the checks need to know of a document the evidence comes from."""

    doc_id: str
    title: str
    kind: str  # law | news | report | document
    years: frozenset[int]  # the years it is about
    version_year: int  # a law: the year of this version
    history_years: frozenset[int]  # a law: every year of its adoption and amendments


@dataclass(frozen=True)
class Decision:
    picks: tuple[Candidate, ...]  # the quotes to show, trimmed; empty when refused
    reason: Reason | None = None
    names: tuple[tuple[str, str], ...] = ()  # what the reason's sentence names
    confidence: float = 0.0  # the judge's probability that the answer shown is right
    judged: tuple[float, ...] = ()  # what the judge read (JUDGE_FEATURES), when it was asked
    ranked: tuple[Candidate, ...] = field(default=(), compare=False)  # best first
    # Sentences of other documents the judge would answer with as surely, stating another figure.
    disputed: tuple[Candidate, ...] = ()
    # The clauses completing a lone pick's sentence (`continuation`), or else the sentence next
    # to it (`neighbour_part`), shown with it; the judge did not read them.
    beside: tuple[Candidate, ...] = ()

    @property
    def shown(self) -> tuple[Candidate, ...]:
        """The quotes an answer shows, those of one passage in the order its text says them."""
        return tuple(reading_order(list(self.picks + self.beside)))

    @property
    def refused(self) -> bool:
        return self.reason is not None

    @property
    def hard(self) -> bool:
        return self.reason in HARD


def decide(q: Analysis, ev: Evidence, model: AnswerModel, docs: dict[str, DocFacts],
           doc_text: Callable[[str], str]) -> Decision:
    """The answer's quotes, or the reason there is none."""
    if not ev.candidates:
        return Decision((), Reason.NO_PASSAGES)
    ranked, scores = rank(ev, model)
    best = in_asked_unit(q, ranked, scores, list_item(ranked, ranked[0]))
    stating = with_figure(q, ranked, scores, best)
    best = stating or best
    if q.asks_article_number:
        best = first_provision(ranked, scores, best, q)
    picks = [best] + second_part(q, ranked, scores, best)
    if q.kind in ("date", "year") and lexicon().history_words.search(q.text):
        picks = dated_picks(q, ranked, picks, ev)
        if not picks[0].source.header:
            best = picks[0]  # the sentence stating the event asked is the one judged
    dated = picks[0].source.header and picks[0] is not best
    for check in _HARD_CHECKS:
        found = check(q, picks, docs, doc_text)
        if found:
            reason, names = found
            return Decision((), reason, tuple({**names, **unmentioned(q, ev)}.items()),
                            ranked=tuple(ranked))
    if stating is None:
        return Decision((), Reason.NO_FIGURE, tuple(unmentioned(q, ev).items()),
                        ranked=tuple(ranked))
    kind = docs[best.source.doc_id].kind if best.source.doc_id in docs else ""
    row = unread(kind, judge_row(best, scores, ranked, len(picks) > 1, dated,
                                 stands_for=ranked[0], unseen=len(q.unseen) / max(1, len(q.terms)),
                                 unsaid=unsaid(q.text, f"{best.source.context}\n"
                                                       f"{best.source.text}"),
                                 spread=spread(ev.sources, best),
                                 sibling=names_sibling(q.text, best.source.passage.meta.get(
                                     "title", ""))))
    # as the judge read it: missing for a genre that does not read it, so that no sentence of a
    # law is taken to say all the question says
    left = tuple(row[i] for i in _UNSAID)
    confidence = float(sigmoid(model.judge_for(kind).raw(np.array([row]))[0]))
    # A law the question names, and the line of its history for the event asked (or its own
    # sentence dating that event: '本法自1990年10月1日起施行'): a lookup in the law itself, not a
    # sentence chosen by likeness — nothing for the judge to doubt.
    looked_up = picks[0].source.doc_id in ev.named and (dated or states_event(q, picks[0]))
    if confidence < model.threshold_for(kind) and not looked_up and not says_all(q, best, left):
        return Decision((), Reason.LOW_CONFIDENCE, tuple(unmentioned(q, ev).items()),
                        confidence=confidence, judged=tuple(row), ranked=tuple(ranked))
    # Shown beside a lone answer, not read by the judge: the sentence next to it, and (no
    # figure asked) the runner-up of its document, when the selector can hardly tell them from
    # it. The judge's row is the best sentence's, so a refusal never depends on them; what they
    # add is at most two more sentences of the same document.
    beside = []
    if len(picks) == 1 and not dated:
        beside = continuation(ev, best, q) or neighbour_part(ev, scores, best)
        if q.asks_reason:
            beside += [c for c in cause_beside(ev, best) if c not in beside]
        if not q.asks_figure:
            beside += runner_up(ranked, scores, best, beside)
    return Decision(tuple(trim(p, q) for p in picks), confidence=confidence, judged=tuple(row),
                    ranked=tuple(ranked), beside=tuple(trim(p, q) for p in beside))


def disputed_by(q: Analysis, d: Decision, docs: dict[str, DocFacts], named: frozenset[str],
                without: Callable[[str], Decision]) -> Decision:
    """The decision, with what the other documents say when they disagree: `without(doc_id)`
    decides again as if the answering document were not in the knowledge base (how held-out
    sets make a question unanswerable). When that answer stands on its own — no check refuses
    it, the judge is as sure as the threshold asks —, reports on the same period, and states the
    asked figure with none of the values shown (a planted or outdated document against the
    report), both are shown. Laws are left out: two laws giving two time limits rule on two
    matters, and versions of one law are told apart by the version checks."""
    if d.refused or q.kind not in _DISPUTE_KINDS or len(d.picks) != 1:
        return d
    mine = docs.get(d.picks[0].source.doc_id)
    shown = asked_values(d.picks[0].quote, q.unit)
    if not shown or mine is None or mine.kind == "law":
        return d
    other = without(mine.doc_id)
    if other.refused or len(other.picks) != 1:
        return d
    theirs = docs.get(other.picks[0].source.doc_id)
    period = set(q.years) or mine.years
    if theirs is None or theirs.kind == "law" or not period & theirs.years:
        return d
    if mine.doc_id in named and theirs.doc_id not in named:
        return d  # the question names its subject (大沙东站): another one's figure is no dispute
    values = asked_values(other.picks[0].quote, q.unit)
    return d if not values or values & shown else replace(d, disputed=other.picks)


def asked_values(text: str, unit: str) -> set[float]:
    """The values of the figures in `text` that count in the asked unit (any count when the
    question names none)."""
    from bot.figures import find_figures

    spans = set(counts(text))
    values = set()
    for f in find_figures(text):
        if (f.start, f.end) in spans and (not unit or has_unit(text[f.start:f.end + 6], unit)):
            values.add(f.value)
    return values


def unmentioned(q: Analysis, ev: Evidence) -> dict[str, str]:
    """What a refusal can add for the member: the thing asked about (its focus, else its
    weightiest own word) when no passage read mentions it. An explanation, never a reason —
    members' own words are often not the documents'. Only a noun is named: "没有提到“包括”"
    or "“原则上”" (a verb or adverb of the question's frame) tells nothing."""
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies) | set(q.titles)
    weights = q.weight_of
    focus = list(q.focus) if q.focus_is_noun else []
    asked = focus + sorted((t for t in q.terms if t not in focus and _names_thing(t)),
                           key=lambda t: -weights.get(t, 0.0))[:1]
    texts = [s.context + s.text for s in ev.sources]
    for term in asked:
        if len(term) >= 2 and not any(f in term or term in f for f in framing) and \
                not any(focus_found(term, t) for t in texts):
            return {"missing": term}
    return {}


def _names_thing(word: str) -> bool:
    """A noun by its part of speech (the lexicon's noun tags), read as one word."""
    from ingest.tokens import pos_tags

    tags = pos_tags(word)
    return len(tags) == 1 and tags[0][1].startswith(lexicon().noun_tags)


def rank(ev: Evidence, model: AnswerModel) -> tuple[list[Candidate], dict[int, float]]:
    """Candidates best first by the selector, and each one's score (by id)."""
    raw = model.selector.raw(np.array([c.features for c in ev.candidates]))
    order = np.argsort(-raw, kind="stable")
    ranked = [ev.candidates[i] for i in order]
    return ranked, {id(ev.candidates[i]): float(raw[i]) for i in range(len(raw))}


def judge_row(best: Candidate, scores: dict[int, float], ranked: list[Candidate],
              two_parts: bool, dated: bool = False, stands_for: Candidate | None = None,
              unseen: float = 0.0, unsaid: tuple[float, float] = (0.0, 0.0),
              spread: tuple[float, float] = (1.0, 1.0), sibling: float = 0.0) -> list[float]:
    """The judge's inputs: the chosen candidate's features, its score, its lead over the best
    other sentence, whether a second part was added, and whether the answer is a line of a
    law's history chosen by the event asked, and the share of the question's words no passage
    holds (a member's own wording: '监委', '多久' cover nothing, yet the question is fair), and
    what of the question the answering passage leaves unsaid (`unsaid`: the rare characters
    of another thing's name, when the document asked about is not in the knowledge base), and
    how the passages read spread over documents (`spread`), and whether the question names a
    sibling of the answering document's subject (`names_sibling`). A list item chosen for its
    lead (`stands_for`) is scored as the lead was: the two are one answer."""
    shown = {best.quote} | ({stands_for.quote} if stands_for is not None else set())
    score = max(scores[id(best)], scores[id(stands_for)] if stands_for is not None else -1e9)
    others = [scores[id(c)] for c in ranked if c.quote not in shown]
    return [*best.features, score, score - max(others, default=score - 10.0), float(two_parts),
            float(dated), unseen, *unsaid, *spread, sibling]


def spread(sources: tuple[Source, ...], best: Candidate, top: int = _SPREAD_TOP
           ) -> tuple[float, float]:
    """How the best `top` passages read spread over documents: how many documents they come
    from, and the share of them from the answering one. The document a question is about, when
    the knowledge base holds it, gathers most of the best passages; when it does not, they
    scatter over documents on like things (two fish of one genus, two stations of one line)."""
    docs = [s.doc_id for s in sources[:top]]
    return float(len(set(docs))), docs.count(best.source.doc_id) / max(1, len(docs))


def unread(kind: str, row: list[float]) -> list[float]:
    """The judge's row with the features the document's genre does not read (`UNREAD`) missing
    (NaN): laws have a judge of their own that never read them (`AnswerModel.judge_for`)."""
    skip = UNREAD.get(genre(kind), ())
    return [math.nan if name in skip else value for name, value in zip(JUDGE_FEATURES, row)]


# ---- choosing -----------------------------------------------------------------------------------
def second_part(q: Analysis, ranked: list[Candidate], scores: dict[int, float],
                best: Candidate) -> list[Candidate]:
    """A question asking two things (各自, 分别, 哪些) whose best sentence leaves much of it
    unsaid gets the next good sentence that says most of the rest."""
    if not q.several:
        return []
    weights = q.weight_of
    said = best.source.context + best.lead_text + best.quote
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies)
    missing = {t: w for t, w in weights.items() if term_coverage(said, {t: w}) < 0.5
               and not any(f in t for f in framing)}
    if not missing or sum(missing.values()) <= 0.2 * sum(weights.values()):
        return []
    floor = scores[id(best)] - _REACH
    for c in ranked[1:8]:
        if c.quote == best.quote or scores[id(c)] < floor:
            continue
        if term_coverage(c.source.context + c.lead_text + c.quote, missing) >= _SECOND:
            return [c]
    return []


def continuation(ev: Evidence, best: Candidate, q: Analysis, most: int = _CONTINUED
                 ) -> list[Candidate]:
    """A clause ending in '；' is part of its sentence ('大多来自亲朋好友的口述；一小部份来自官方
    的邸报'; a law's proviso: '…都有选举权和被选举权；但是依照法律被剥夺政治权利的人除外'): the
    clauses after it, up to the sentence's end on the same line, are shown with it, when the
    answer shows the clause to its end. Never an item of a numbered list, one read under a lead,
    or a lead itself: each is a provision of its own."""
    if not best.quote.endswith(("；", ";")) or best.lead is not None:
        return []
    if best.source.text[trim(best, q).end:best.end].strip("，,；;：: "):
        return []  # the answer is cut to the clauses that hold it: what follows is not next
    same = sorted((c for c in ev.candidates if c.source is best.source), key=lambda c: c.start)
    out, last = [], best
    for c in same:
        if c.start < last.end:
            continue
        between = best.source.text[last.end:c.start]
        if (between.strip() or "\n" in between or c.lead is not None or _ITEM_START.match(c.quote)
                or c.quote.endswith(("：", ":"))):
            break
        out.append(c)
        last = c
        if not c.quote.endswith(("；", ";")) or len(out) >= most:
            break
    return out


def neighbour_part(ev: Evidence, scores: dict[int, float], best: Candidate,
                   reach: float = _NEIGHBOUR_REACH) -> list[Candidate]:
    """The sentence right before or after the best one in its passage, when the selector can
    hardly tell the two apart: an answer often runs across a sentence boundary (the reason,
    then '因此它被称为…'; a name, then what it did). The closer of the two, if either is."""
    same = sorted((c for c in ev.candidates if c.source is best.source), key=lambda c: c.start)
    at = next((i for i, c in enumerate(same) if c is best), None)
    if at is None:
        return []
    floor = scores[id(best)] - reach
    # a list's lead says what follows, not what it is: never shown for itself (`list_item`)
    beside = [c for c in same[max(0, at - 1):at] + same[at + 1:at + 2]
              if scores[id(c)] >= floor and c.quote != best.quote
              and not c.quote.endswith(("：", ":"))]
    return [max(beside, key=lambda c: scores[id(c)])] if beside else []


def cause_beside(ev: Evidence, best: Candidate) -> list[Candidate]:
    """A reason asked ('…为什么…'): the sentence that says what the question says is the effect,
    and unless it states a cause itself ('因为', '由于'…), the cause stands beside it — before
    it when it opens with a consequence ('因此', '所以'…), else after it. That sentence of the
    same passage, if there is one."""
    lex = lexicon()
    if lex.cause.search(best.quote):
        return []
    same = sorted((c for c in ev.candidates if c.source is best.source), key=lambda c: c.start)
    at = next((i for i, c in enumerate(same) if c is best), None)
    if at is None:
        return []
    side = same[at - 1:at] if lex.consequence.search(best.quote) else same[at + 1:at + 2]
    return [c for c in side if c.quote != best.quote and not c.quote.endswith(("：", ":"))]


def runner_up(ranked: list[Candidate], scores: dict[int, float], best: Candidate,
              beside: list[Candidate], reach: float = _RUNNER_UP_REACH) -> list[Candidate]:
    """The next-best sentence of the best one's document, when the selector can hardly tell the
    two apart: a sentence introducing the question's subject often outscores the one that fills
    its slot ('…出生在什么地方' <- 'X，美籍奥地利探险家…', just ahead of '1884年生于奥地利维也纳…'),
    and showing both answers where choosing one would guess. Not for a figure asked: two
    figures side by side would leave the member to choose. Never another document's sentence:
    the answer stays within the one source the best sentence cites."""
    floor = scores[id(best)] - reach
    taken = {best.quote} | {c.quote for c in beside}
    nxt = next((c for c in ranked if c.quote not in taken and not c.quote.endswith(("：", ":"))),
               None)
    if nxt is None or scores[id(nxt)] < floor or nxt.source.doc_id != best.source.doc_id:
        return []
    return [nxt]


def reading_order(picks: list[Candidate]) -> list[Candidate]:
    """Picks from one passage in the order its text says them; passages in the order chosen."""
    first = {}
    for i, p in enumerate(picks):
        first.setdefault(id(p.source), i)
    return sorted(picks, key=lambda p: (first[id(p.source)], p.start))


def in_asked_unit(q: Analysis, ranked: list[Candidate], scores: dict[int, float],
                  best: Candidate) -> Candidate:
    """'多少场次协商' asks a count in 场次: when the best sentence counts in no such unit (the
    check `wrong_unit` would refuse it), the best one within reach that does — and names the
    thing counted as well as the best one did — answers instead.
    Held out (evals/fit_answerer.py, 2026-12-06): 3 more right answers of 127 on the policy and
    law sets, none changed on CMRC."""
    if not _asks_strict_unit(q) or has_unit(best.quote, q.unit):
        return best
    floor = scores[id(best)] - _REACH
    named = best.feature("focus")  # the thing counted is not traded for the unit
    return next((c for c in ranked if scores[id(c)] >= floor and has_unit(c.quote, q.unit)
                 and c.feature("focus") >= named), best)


def says_all(q: Analysis, best: Candidate, unsaid: tuple[float, float] = (0.0, 0.0)) -> bool:
    """The best passage's best sentence, read with its title and lead, says every word of the
    question and states the kind of answer asked: nothing is left for the judge to doubt
    ('X史称什么？' <- 《X》 '史称Y。'). Held out with fixed fold models
    (evals/fit_answerer.py --fold-models, 2026-12-07): CMRC 6 more right, 1 more wrong (a
    one-word question, its one word said by another article), no other set moved. A word no
    passage of the knowledge base holds weighs nothing in `terms_framed`, so the passage
    must also leave none of the question's characters unsaid (`unsaid`, not read for laws):
    '鳄蜥主要以什么为食' is not all said by '…以头足类为食'."""
    return (best.feature("terms_framed") >= 0.999 and best.source.index == 0
            and not unsaid[1] > 0 and fits_kind(best.lead_text + best.quote, q.kind))


def with_figure(q: Analysis, ranked: list[Candidate], scores: dict[int, float],
                best: Candidate) -> Candidate | None:
    """'多少', '多久', '百分之几', '几次' ask for a figure: a sentence stating none does not answer,
    however like the question it reads ('全市常住人口有多少？' <- a sentence praising the year's
    work). The best sentence within reach that states a figure of the kind asked — and
    names the thing asked about as well as the best one did — answers instead ('至少提前几天通知' <-
    '并于三日前通知', not the clause before it; a share is not answered by a
    count of years); None when there is none: nothing read answers."""
    if q.kind not in _STATED_FIGURE_KINDS or _states_asked(best.lead_text + best.quote, q.kind):
        return best
    floor = scores[id(best)] - _REACH
    named = best.feature("focus")
    return next((c for c in ranked if scores[id(c)] >= floor and c.feature("focus") >= named
                 and fits_kind(c.lead_text + c.quote, q.kind)), None)


def _states_asked(text: str, kind: str) -> bool:
    """A share is a share (a count of years is no 立案率); a count, duration or frequency may be
    said in another kind of figure ('至少每周联系一次' for 多久联系一次)."""
    return fits_kind(text, kind) if kind == "ratio" else states_figure(text)


def _asks_strict_unit(q: Analysis) -> bool:
    """A count or duration in a unit the question itself names and no other unit stands for
    (a follow-up's borrowed unit is not asked: '那讲座呢？' after '…多少次？')."""
    return (q.kind in ("count", "duration") and q.unit in lexicon().strict_units
            and q.unit in q.text)


def list_item(ranked: list[Candidate], best: Candidate) -> Candidate:
    """A list's lead ('下列人士逝世，下半旗志哀：') says what follows, not what it is: its best
    item answers, shown with the lead."""
    if not best.quote.endswith(("：", ":")):
        return best
    lead = (best.start, best.end)
    return next((c for c in ranked if c.source is best.source and c.lead == lead), best)


def first_provision(ranked: list[Candidate], scores: dict[int, float], best: Candidate,
                    q: Analysis) -> Candidate:
    """'规定在第几条': a law provides for a measure before the articles that govern its use, so
    of the near-best sentences of the best one's law that name everything it names, the
    earliest article answers."""
    if not _in_article(best.source):
        return best
    weights = q.weight_of
    named = {t for t in weights if term_coverage(best.quote, {t: 1.0}) == 1.0}
    floor = scores[id(best)] - 1.0
    same = [c for c in ranked if c.source.doc_id == best.source.doc_id and _in_article(c.source)
            and scores[id(c)] >= floor
            and all(term_coverage(c.quote, {t: 1.0}) == 1.0 for t in named)]
    return min(same, key=lambda c: int(c.source.passage.meta.get("position", 0)), default=best)


def _in_article(src: Source) -> bool:
    return bool(src.passage.meta.get("article")) and not src.header


def dated_picks(q: Analysis, ranked: list[Candidate], picks: list[Candidate], ev: Evidence
                ) -> list[Candidate]:
    """'现行宪法最近一次修正是哪天' -> the right line of the law's history; '这一款是哪年加进去
    的' -> the history line of the law holding that clause, beside the clause itself. A sentence
    of the law stating the very event asked beats a dated sentence or history line stating
    another ('…哪天开始施行' <- '本法自2018年5月1日起施行', not '（…公布）' nor '2018年3月2日
    国务院令第697号公布')."""
    best = picks[0]
    content = next((c for c in ranked if not c.source.header), None)
    if not best.source.header and fits_kind(best.quote, q.kind):
        # a dated sentence in the text itself answers it
        stating = None if states_event(q, best) else _stating(q, ranked, best.source.doc_id)
        return picks if stating is None else [stating] + picks[1:]
    doc_id = best.source.doc_id if best.source.header else (content.source.doc_id if content
                                                             else None)
    headers = [s for s in ev.sources if s.header and s.doc_id == doc_id]
    if not headers:
        return picks
    dated = []
    for clause in _date_clauses(q):
        line = history_line(headers, clause, q.order)
        if line is not None and all(line.quote != d.quote for d in dated):
            dated.append(line)
    if not dated:
        return picks
    stating = None if any(states_event(q, d) for d in dated) else _stating(q, ranked, doc_id)
    if stating is not None:
        return [stating]
    about_text = content is not None and content.source.doc_id == doc_id and \
        not _names_only_title(q, dated[0])
    return dated + [content] if about_text else dated


def _stating(q: Analysis, ranked: list[Candidate], doc_id: str | None) -> Candidate | None:
    """The best-ranked sentence of that document's text stating the event asked, if any."""
    return next((c for c in ranked if not c.source.header and c.source.doc_id == doc_id
                 and states_event(q, c)), None)


def _date_clauses(q: Analysis) -> list[str]:
    from bot.answering.analysis import question_kinds, split_subquestions

    clauses = [c for c in split_subquestions(q.text) if question_kinds(c)[-1] in ("date", "year")]
    return clauses or [q.text]


def _names_only_title(q: Analysis, dated: Candidate) -> bool:
    """'国歌法是哪天通过的' asks about the law itself, not about one of its sentences."""
    rest = [t for t in q.terms if t not in dated.source.context and t not in dated.quote]
    return len(rest) <= 1


def history_line(headers: list[Source], asked_text: str, order: str) -> Candidate | None:
    """The dated line of a law's history that `asked_text` means (通过/修正/施行…; the latest
    unless it asks for the first)."""
    lines = [(src, s, e) for src in headers for s, e in sentence_spans(src.text)
             if _HISTORY_DATE.search(src.text[s:e])]
    if not lines:
        return None
    asked = asked_events(asked_text)
    matching = [ln for ln in lines if any(ev in ln[0].text[ln[1]:ln[2]] for ev in asked)] or lines
    first = order == "earliest" or ("通过" in asked and not order and "修" not in asked_text)
    key = lambda ln: _date_key(ln[0].text[ln[1]:ln[2]])  # noqa: E731
    src, start, end = min(matching, key=key) if first else max(matching, key=key)
    return Candidate(src, start, end, None, tuple(0.0 for _ in FEATURES))


def states_event(q: Analysis, c: Candidate) -> bool:
    """A date question's sentence that names the event asked and holds a date of the asked
    kind ('…是从哪天开始施行的' <- '本法自1990年10月1日起施行')."""
    if q.kind not in ("date", "year") or not fits_kind(c.quote, q.kind):
        return False
    return any(event in c.quote for event in asked_events(q.text))


def asked_events(text: str) -> list[str]:
    """The event asked about: the one nearest the question word ('现在施行的…是哪天修订的' asks
    修订; '修订后从哪天起施行' asks 施行)."""
    lex = lexicon()
    for word, event in lex.event_synonyms.items():
        text = text.replace(word, event)
    found = [(ev, m.start()) for ev in lex.events for m in re.finditer(ev, text)]
    ask = lex.date_asked.search(text)
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


# ---- the hard checks: the evidence contradicts the question ------------------------------------
def document_not_in_kb(q, picks, docs, doc_text):
    """《X》 named in the question, and the evidence comes from documents none of which is X;
    or X is a law or rule (its name says so) that no document of the knowledge base is — a
    law quoting 《民事诉讼法》 does not answer what 《民事诉讼法》 says."""
    held = [f.title for f in docs.values()]
    for name in q.titles:
        if name.endswith(lexicon().document_ends) and held and \
                not names_any_document(name, held):
            other = next((docs[p.source.doc_id].title for p in picks if p.source.doc_id in docs),
                         "")
            return Reason.DOCUMENT_NOT_IN_KB, {"name": name, "other": other}
    titles = [docs[p.source.doc_id].title for p in picks if p.source.doc_id in docs]
    passages = " ".join(p.source.text for p in picks)
    if q.titles and titles and not any(
            name in passages or any(names_document(name, t) for t in titles) for name in q.titles):
        return Reason.DOCUMENT_NOT_IN_KB, {"name": q.titles[0], "other": titles[0]}
    return None


def law_not_in_kb(q, picks, docs, doc_text):
    """A law named without 《》 ('按国旗法，…') that no document of the knowledge base is."""
    titles = [f.title for f in docs.values()]
    for name in q.laws:
        if titles and not any(names_law(name, t) for t in titles):
            other = next((docs[p.source.doc_id].title for p in picks if p.source.doc_id in docs),
                         "")
            return Reason.DOCUMENT_NOT_IN_KB, {"name": name, "other": other}
    return None


def rule_from_news(q, picks, docs, doc_text):
    kinds = {docs[p.source.doc_id].kind for p in picks if p.source.doc_id in docs}
    if lexicon().normative.search(q.text) and kinds and kinds <= {"news"}:
        return Reason.RULE_FROM_NEWS, {}
    return None


def other_body(q, picks, docs, doc_text):
    """Evidence about another body answers a question about this one only by accident."""
    context = " ".join(p.source.text + p.source.context for p in picks)
    said = " ".join(p.quote + p.source.context for p in picks)
    for body in q.bodies:
        if mentions_body(context, body):
            continue
        others = [b for b in lexicon().bodies if b not in q.bodies and mentions_body(said, b)]
        if others:
            return Reason.OTHER_BODY, {"name": body, "other": others[0]}
    return None


def national_vs_local(q, picks, docs, doc_text):
    """A national question answered from a local report that names its city once."""
    from bot.answering.analysis import places_in

    if not lexicon().national.search(q.text):
        return None
    said = " ".join(p.quote + p.source.context for p in picks)
    if "全国" in said:
        return None
    about = next(iter(places_in(said)), "")
    kinds = {docs[p.source.doc_id].kind for p in picks if p.source.doc_id in docs}
    if not about and kinds - {"law"}:
        about = next(iter(places_in(" ".join(doc_text(p.source.doc_id)[:1000] for p in picks))),
                     "")
    titles = " ".join(p.source.context for p in picks)
    if about or "市" in titles or "我市" in said:
        return Reason.NATIONAL_VS_LOCAL, {"other": about or "地方"}
    return None


def place_missing(q, picks, docs, doc_text):
    context = " ".join(p.source.text + p.source.context for p in picks)
    for place in q.places:
        if place not in context and not any(place in doc_text(p.source.doc_id) for p in picks):
            return Reason.PLACE_MISSING, {"name": place}
    return None


def year_or_version_missing(q, picks, docs, doc_text):
    """Another year's figure, or another version's rule, is not this one's."""
    facts = [docs[p.source.doc_id] for p in picks if p.source.doc_id in docs]
    context = " ".join(p.source.text + p.source.context for p in picks)
    versions = {f.version_year for f in facts if f.kind == "law" and f.version_year}
    history = {y for f in facts if f.kind == "law" for y in f.history_years}
    for year in q.years:
        if q.version_year == year and versions:
            asks_history = q.kind in ("date", "year") and year in history
            if year not in versions and not asks_history:
                return Reason.VERSION_MISSING, {"name": str(year),
                                                "other": "、".join(map(str, sorted(versions)))}
            continue
        if not any(year in f.years for f in facts) and f"{year}年" not in context:
            return Reason.YEAR_MISSING, {"name": str(year)}
    return None


def only_stated(q, picks, docs, doc_text):
    from bot.answering.clues import figure_values

    if q.kind not in ("count", "duration", "ratio") or not q.stated:
        return None
    found = set().union(*(figure_values(p.quote) for p in picks))
    if found and found <= set(q.stated):
        return Reason.ONLY_STATED, {}
    return None


def wrong_unit(q, picks, docs, doc_text):
    """'多少名委员' is not answered by '44家工作室': a count of the asked unit must be there."""
    if not _asks_strict_unit(q) or any(has_unit(p.quote, q.unit) for p in picks):
        return None
    return Reason.WRONG_UNIT, {"name": q.unit}


_HARD_CHECKS = (document_not_in_kb, law_not_in_kb, rule_from_news, other_body, national_vs_local,
                place_missing, year_or_version_missing, only_stated, wrong_unit)


def names_any_document(name: str, titles: list[str]) -> bool:
    """`names_document` for any of many titles (every document of a knowledge base), in one
    scan of them all for the short-name case: at 1,500 laws, testing them one by one in Python
    cost ~0.7 ms a question."""
    spread = "[^\n]*?".join(map(re.escape, name))
    return (re.search(spread, "\n".join(titles)) is not None
            or any(len(t) >= 2 and in_order(t, name) for t in titles if len(t) <= len(name)))


def names_document(name: str, title: str) -> bool:
    """Does 《name》 in a question mean the document titled `title`? A short name keeps the
    title's characters in order (政协章程 -> 中国人民政治协商会议章程), a long one contains the
    title; 监察法实施条例 is not 劳动保障监察条例."""
    return in_order(name, title) or (len(title) >= 2 and in_order(title, name))


# ---- the quote ---------------------------------------------------------------------------------
def trim(c: Candidate, q: Analysis) -> Candidate:
    """A long sentence shrinks to the clauses that answer, kept verbatim and contiguous."""
    text = c.quote
    limit = _MAX_QUOTE if q.kind in FIGURE_KINDS else _MAX_QUOTE_WORDS
    if len(text) <= limit:
        return c
    weights = q.weight_of
    cuts = [0] + clause_cuts(text) + [len(text)]
    clauses = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]
    best, best_score = (0, len(text)), -1.0
    for i in range(len(clauses)):
        for j in range(i, len(clauses)):
            s, e = clauses[i][0], clauses[j][1]
            if e - s > limit and j > i:
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
        nxt = [cl for cl in clauses if cl[0] >= e]
        if nxt and nxt[0][1] - s <= limit + 30:
            e = nxt[0][1]  # names and rules tend to follow the words that lead to them
    while e > s and text[e - 1] in "，,；;：: ":
        e -= 1
    return replace(c, start=c.start + s, end=c.start + e)
