"""Stage 2, evidence: every sentence of the retrieved passages as a candidate, with its features.

Features are what generalises across documents — how much of the question a sentence and its
passage cover, whether it states the kind and unit of figure asked, whether it names another
body or year, where its passage ranked — never a word of one question. The decision stage
scores them with the fitted model (bot/answering/model.py); nothing here decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from bot.answering.analysis import Analysis, focus_found, mentions_body, normalized
from bot.answering.clues import (FIGURE_KINDS, bigrams, figure_values, fits_kind,
                                 focus_near_figure, has_unit, states_duration_of, term_coverage,
                                 total_of, years_named)
from bot.answering.lexicon import lexicon
from bot.retrieval import Passage
from ingest.sentence_vectors import BASIS_KEY, META_KEY, MIN_SENTENCE, Basis, unpack
from ingest.splitter import sentence_spans

# The features of a candidate, in the order the model reads them. Each holds for a class of
# questions; the fitting script (evals/fit_answerer.py) reports what each is worth held out.
FEATURES = (
    # lexical: how much of the question the sentence (and its passage) says
    "cover_rest",      # question bigrams the passage's title does not already say, in the sentence
    "cover_all",       # question bigrams in the sentence, its lead and the passage's title
    "title_in_question",  # share of the passage title's bigrams the question names
    "terms",           # idf-weighted share of the question's own words in the sentence
    "terms_framed",    # ... in the sentence with its title, headings and list lead
    "terms_passage",   # ... anywhere in the passage
    "context_terms",   # a follow-up: share of the earlier question's words in sentence + passage
    "neighbour",       # cover_rest of the sentence before or after it (an answer follows its topic)
    # relative: against the best candidate for the same question
    "cover_rest_gap", "cover_all_gap", "terms_gap", "terms_framed_gap",
    "cover_rest_rank", "terms_framed_rank",
    # semantic: e5 similarity of the question to the sentence read with its title, and to the passage
    "sentence_sim",    # cosine in the stored sentence basis (ingest/sentence_vectors.py)
    "sentence_sim_gap",  # ... against the best candidate's
    "sentence_sim_rank",  # 1 / (1 + its rank among the candidates)
    "sentence_known",  # the passage has sentence vectors (a store from before them has none)
    "dense_passage",   # 1 / dense rank of the passage (0: not in the dense list)
    "keyword_passage",  # 1 / keyword rank
    # what the question asks for
    "fits_kind",       # states a figure of the kind asked (count, date, duration, ...)
    "asks_figure",     # the question asks for a figure at all
    "unit",            # a count in the asked unit (件, 日, 元 ...)
    "focus",           # names the thing asked about (sentence, lead or title)
    "focus_passage",   # ... in the passage
    "focus_near_figure",  # a figure right by the thing asked about
    "duration_of",     # '留置时间不得超过三个月' for a duration asked of 留置
    "total",           # a year's total before the thing asked ('全年636件提案')
    "only_stated",     # its only figures are those the question gives
    # near misses
    "body",            # +1 names the body asked, -1 names another body only, 0 neither
    "year_match",      # names a year the question names
    "year_other",      # names only other years than those the question names
    "named_document",  # the question names this passage's document
    # where it sits
    "passage_rank",    # 1 / (1 + rank of the passage after retrieval)
    "passage_score",   # the passage's fused score relative to the best
    "header",          # a law's history header
    "position",        # 1 / (1 + index of the sentence within the passage)
    "length",          # log length of the sentence
    "has_lead",        # a list item read with the sentence that introduces it
)
N_FEATURES = len(FEATURES)
REFERRAL_REACH = 3  # the best passages whose citing provisions are read too


@dataclass(frozen=True)
class Source:
    """A passage as the answerer reads it: its text, what it is about, and where it ranked."""

    index: int  # rank among the passages read (0 = best)
    text: str
    context: str  # title, headings, article
    doc_id: str
    passage: Passage
    header: bool = False  # a law's adoption and amendment history


@dataclass(frozen=True)
class Candidate:
    """One sentence of one source, with its features (in FEATURES order)."""

    source: Source
    start: int
    end: int
    lead: tuple[int, int] | None  # the sentence introducing this list item
    features: tuple[float, ...]

    @property
    def quote(self) -> str:
        return self.source.text[self.start:self.end]

    @property
    def lead_text(self) -> str:
        return self.source.text[self.lead[0]:self.lead[1]] if self.lead else ""

    def feature(self, name: str) -> float:
        return self.features[FEATURES.index(name)]


@dataclass(frozen=True)
class Evidence:
    """Everything the decision reads: the sources and their candidates, best passage first."""

    sources: tuple[Source, ...]
    candidates: tuple[Candidate, ...]
    named: frozenset[str]  # documents the question names


def context_of(p: Passage) -> str:
    meta = p.meta
    return " ".join(x for x in (meta.get("title", ""), meta.get("headings", ""),
                                meta.get("article", "")) if x)


def sources_of(passages: list[Passage], q: Analysis, headers: dict[str, list[Passage]]
               ) -> list[Source]:
    """The passages, plus for a date or year question the history header of each of the top
    laws (`headers`: doc id -> its header passages). A history answers when and which version,
    so headers are read only for questions about those."""
    history = q.kind in ("date", "year", "article") and bool(lexicon().history_words.search(q.text))
    out = [Source(i, p.text, context_of(p), p.doc_id, p, header=p.meta.get("kind") == "header")
           for i, p in enumerate(passages) if history or p.meta.get("kind") != "header"]
    seen = {s.passage.chunk_id for s in out}
    for heads in headers.values():
        for head in heads:
            if head.chunk_id not in seen:
                seen.add(head.chunk_id)
                out.append(Source(len(out), head.text, context_of(head), head.doc_id, head,
                                  header=True))
    return out


def cited_articles(text: str) -> set[str]:
    """The articles of its own law a passage cites: '有本条例第二十六条、第二十八条所列行为之一的'
    -> {第二十六条, 第二十八条}."""
    lex = lexicon()
    return {ref.group(0) for m in lex.cites.finditer(text)
            for ref in lex.article_ref.finditer(m.group(1))}


def articles_to_follow(sources: list[Source], reach: int = REFERRAL_REACH
                       ) -> list[tuple[str, str]]:
    """(doc id, article) of the best `reach` passages that are articles of a law: the
    provisions citing them are read too (`with_referrals`)."""
    out = []
    for src in sources:
        if len(out) >= reach:
            break
        article = src.passage.meta.get("article", "")
        if not src.header and article and (src.doc_id, article) not in out:
            out.append((src.doc_id, article))
    return out


def with_referrals(sources: list[Source], citing: dict[tuple[str, str], list[Passage]]
                   ) -> list[Source]:
    """A law says what a penalty punishes by citing the article that forbids it ('有本条例第
    二十六条…所列行为之一的，…处5000元以下的罚款'): the question names the act, retrieval finds the
    article forbidding it, and the answer is in the provision citing it. Each provision that
    cites a retrieved article (`citing`: (doc id, article) -> passages naming it) is read with
    that article's text as context, ranked where the article ranked; one already retrieved gains
    the context and keeps its own rank."""
    extra: dict[str, tuple[Source, Passage]] = {}  # chunk id -> (the cited source, the citer)
    for src in sources:
        article = src.passage.meta.get("article", "")
        for p in citing.get((src.doc_id, article), ()):
            if p.chunk_id not in extra and article in cited_articles(p.text):
                extra[p.chunk_id] = (src, p)
    if not extra:
        return sources
    out = []
    for src in sources:
        if src.passage.chunk_id in extra:
            cited = extra.pop(src.passage.chunk_id)[0]
            src = replace(src, context=f"{src.context} {cited.text}")
        out.append(src)
    for cited, p in extra.values():  # the rest were not retrieved: added where they cite
        ranked = replace(p, score=cited.passage.score, dense_rank=cited.passage.dense_rank,
                         keyword_rank=cited.passage.keyword_rank)
        out.append(Source(cited.index, p.text, f"{context_of(p)} {cited.text}", p.doc_id, ranked))
    return out


def gather(q: Analysis, sources: list[Source], named: set[str] | frozenset[str],
           question_vector: np.ndarray | None = None, basis: Basis | None = None) -> Evidence:
    """Every sentence of every source as a candidate, with its features. `question_vector`
    (the question's embedding) and `basis` (the store's sentence basis) give the sentence
    similarities; without them those features are 0 and `sentence_known` says so."""
    top_score = max((float(s.passage.score) for s in sources if not s.header), default=0.0) or 1.0
    asked = _Asked.of(q)
    projected = (basis.project(question_vector)[0]
                 if basis is not None and question_vector is not None else None)
    rows = []
    for src in sources:
        sentences = _sentence_features(src.text, src.context, asked)
        sims = _similarities(src.passage, len(sentences), projected, basis)
        for (start, end, lead, feats), sim in zip(sentences, sims):
            where = (1 / (1 + src.index), 0.0 if src.header else float(src.passage.score) / top_score,
                     float(src.header))
            passage = (sim if sim is not None else 0.0, float(sim is not None),
                       _inverse(src.passage.dense_rank), _inverse(src.passage.keyword_rank),
                       float(src.doc_id in named))
            rows.append((src, start, end, lead, feats, passage, where))
    candidates = [Candidate(src, s, e, lead, _assemble(feats, passage, where))
                  for src, s, e, lead, feats, passage, where in rows]
    return Evidence(tuple(sources), tuple(_with_gaps(candidates)), frozenset(named))


def _similarities(p: Passage, n: int, projected: np.ndarray | None, basis: Basis | None
                  ) -> list[float | None]:
    """Cosine of the question to each of the passage's n answer sentences, from the vectors
    stored with the chunk; None each when there are none, or they are in another basis."""
    packed = p.meta.get(META_KEY)
    if projected is None or basis is None or packed is None or p.meta.get(BASIS_KEY) != basis.tag:
        return [None] * n
    vectors = unpack(packed, basis.dim)
    if len(vectors) != n:
        return [None] * n
    return [float(x) for x in vectors @ projected]


def _inverse(rank: int) -> float:
    return 1.0 / rank if rank else 0.0


@dataclass(frozen=True)
class _Asked:
    """What a sentence's features depend on, hashable: the same passage read twice for one
    question (a follow-up's two searches) is featurised once."""

    serial: int
    kind: str
    unit: str
    focus: tuple[str, ...]
    focus_is_noun: bool
    bodies: tuple[str, ...]
    years: tuple[int, ...]
    stated: tuple[float, ...]
    grams: frozenset[str]
    own: tuple[tuple[str, float], ...]
    context: tuple[tuple[str, float], ...]
    whole: bool

    @classmethod
    def of(cls, q: Analysis) -> "_Asked":
        weights = q.weight_of
        own = tuple((t, weights[t]) for t in q.terms if t in weights)
        context = tuple((t, weights[t]) for t in q.context_terms if t in weights)
        return cls(q.serial, q.kind, q.unit, q.focus, q.focus_is_noun, q.bodies, q.years,
                   q.stated, bigrams(q.text), own, context, _asks_whole(q))


def _asks_whole(q: Analysis) -> bool:
    """A count asked of a body's year with no narrower topic: the year's total answers it."""
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies)
    return q.kind == "count" and bool(q.focus) and all(
        t in q.focus or any(f in t for f in framing) for t in q.terms)


@dataclass(frozen=True)
class _Sentence:
    """What a sentence of a passage is, whatever the question: read once per passage text."""

    start: int
    end: int
    lead: tuple[int, int] | None  # the list lead introducing it
    text: str
    framed: str  # its lead, then itself
    grams: frozenset[str]  # bigrams of itself
    framed_grams: frozenset[str]
    years: frozenset[int]


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[_Sentence, ...]:
    """The passage's answer sentences (at least MIN_SENTENCE long), each with its list lead.
    Cached by text: the passages a popular document answers from are read by many questions."""
    spans, lead = [], None
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        if sentence.endswith(("：", ":")):
            lead = (start, end)
        if len(sentence) >= MIN_SENTENCE:
            spans.append((start, end, lead if lead and lead[1] <= start else None))
    out = []
    for start, end, lead in spans:
        sentence = text[start:end]
        framed = (text[lead[0]:lead[1]] if lead else "") + sentence
        out.append(_Sentence(start, end, lead, sentence, framed, bigrams(sentence),
                             bigrams(framed), frozenset(years_named(sentence))))
    return tuple(out)


@lru_cache(maxsize=4096)
def _sentence_features(text: str, context: str, asked: _Asked
                       ) -> tuple[tuple[int, int, tuple[int, int] | None, tuple[float, ...]], ...]:
    """(start, end, lead, features that depend on the passage alone) per sentence."""
    own, ctx_terms = dict(asked.own), dict(asked.context)
    ctx_grams = bigrams(context)
    rest = asked.grams - ctx_grams
    n_grams, n_rest = max(1, len(asked.grams)), max(1, len(rest))
    title_in_q = len(ctx_grams & asked.grams) / max(1, len(ctx_grams))
    terms_passage = term_coverage(context + "\n" + text, own)
    context_terms = term_coverage(context + "\n" + text, ctx_terms) if ctx_terms else 0.0
    focus_passage = float(bool(asked.focus) and all(focus_found(t, context + text)
                                                    for t in asked.focus))
    sentences = _sentences(text)
    covers = [len(rest & s.grams) / n_rest for s in sentences]
    out = []
    for i, s in enumerate(sentences):
        sentence, framed = s.text, s.framed
        neighbour = max([covers[j] for j in (i - 1, i + 1) if 0 <= j < len(covers)], default=0.0)
        feats = {
            "cover_rest": covers[i],
            "cover_all": len(asked.grams & (s.framed_grams | ctx_grams)) / n_grams,
            "title_in_question": title_in_q, "terms": term_coverage(sentence, own),
            "terms_framed": term_coverage(context + framed, own), "terms_passage": terms_passage,
            "context_terms": context_terms, "neighbour": neighbour,
            "fits_kind": float(fits_kind(framed if asked.kind in ("who", "what") else sentence,
                                         asked.kind)),
            "asks_figure": float(asked.kind in FIGURE_KINDS),
            "unit": float(bool(asked.unit) and has_unit(sentence, asked.unit)),
            "focus": float(bool(asked.focus) and all(focus_found(t, context + framed)
                                                     for t in asked.focus)),
            "focus_passage": focus_passage,
            "focus_near_figure": float(asked.kind in FIGURE_KINDS
                                       and focus_near_figure(sentence, asked.focus)),
            "duration_of": float(asked.kind == "duration"
                                 and states_duration_of(sentence, asked.focus)),
            "total": float(asked.whole and total_of(sentence, asked.focus)),
            "only_stated": float(_only_stated(sentence, asked.stated)),
            "body": _body(context + framed, asked.bodies),
            "year_match": float(bool(s.years & set(asked.years))),
            "year_other": float(bool(asked.years) and bool(s.years)
                                and not s.years & set(asked.years)),
            "position": 1 / (1 + i), "length": math.log1p(len(sentence)),
            "has_lead": float(s.lead is not None),
        }
        out.append((s.start, s.end, s.lead, tuple(feats[name] for name in _OWN)))
    return tuple(out)


_PASSAGE = ("sentence_sim", "sentence_known", "dense_passage", "keyword_passage",
            "named_document")
_WHERE = ("passage_rank", "passage_score", "header")
_GAPS = {"cover_rest_gap": "cover_rest", "cover_all_gap": "cover_all", "terms_gap": "terms",
         "terms_framed_gap": "terms_framed", "sentence_sim_gap": "sentence_sim"}
_RANKS = {"cover_rest_rank": "cover_rest", "terms_framed_rank": "terms_framed",
          "sentence_sim_rank": "sentence_sim"}
_OWN = tuple(f for f in FEATURES if f not in _PASSAGE + _WHERE + tuple(_GAPS) + tuple(_RANKS))


def _assemble(own: tuple[float, ...], passage: tuple[float, ...], where: tuple[float, ...]
              ) -> tuple[float, ...]:
    """Features in FEATURES order; the relative ones are filled in by `_with_gaps`."""
    values = dict(zip(_OWN, own)) | dict(zip(_PASSAGE, passage)) | dict(zip(_WHERE, where))
    return tuple(values.get(name, 0.0) for name in FEATURES)


def _with_gaps(candidates: list[Candidate]) -> list[Candidate]:
    """Each candidate's distance from the best one on the main lexical features, and its rank."""
    if not candidates:
        return candidates
    index = {name: FEATURES.index(name) for name in FEATURES}
    best = {base: max(c.features[index[base]] for c in candidates)
            for base in set(_GAPS.values()) | set(_RANKS.values())}
    ranks = {}
    for rank_name, base in _RANKS.items():
        ordered = sorted(range(len(candidates)), key=lambda i: -candidates[i].features[index[base]])
        ranks[rank_name] = {i: 1 / (1 + r) for r, i in enumerate(ordered)}
    out = []
    for i, c in enumerate(candidates):
        feats = list(c.features)
        for gap, base in _GAPS.items():
            feats[index[gap]] = c.features[index[base]] - best[base]
        for rank_name in _RANKS:
            feats[index[rank_name]] = ranks[rank_name][i]
        out.append(Candidate(c.source, c.start, c.end, c.lead, tuple(feats)))
    return out


def _body(text: str, bodies: tuple[str, ...]) -> float:
    """+1: names every body the question names; -1: names only other bodies; 0: neither."""
    if not bodies:
        return 0.0
    if all(mentions_body(text, b) for b in bodies):
        return 1.0
    others = [b for b in lexicon().bodies if b not in bodies]
    return -1.0 if any(mentions_body(text, b) for b in others) else 0.0


def _only_stated(sentence: str, stated: tuple[float, ...]) -> bool:
    """A count the question itself gives ('那452场活动里…') does not answer it."""
    if not stated:
        return False
    found = figure_values(sentence)
    return bool(found) and found <= set(stated)


def normalised_text(text: str) -> str:
    return normalized(text)
