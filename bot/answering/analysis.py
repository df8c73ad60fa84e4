"""Stage 1, analysis: what a question asks — kind, unit, bodies, years, version, place, focus.

Plain functions over the question's text and the words of the lexicon; the result is a frozen
`Analysis` that the evidence and decision stages read and never change.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bot.answering.lexicon import Lexicon, lexicon
from ingest.tokens import STOPWORDS, normalize

_serials = itertools.count(1)
normalized = lru_cache(maxsize=8192)(normalize)
_UNSEEN_WEIGHT = 2.0  # a word no passage contains: the member's phrasing more often than a topic
_CONTEXT_WEIGHT = 0.3  # words of the earlier question count, less than the question's own
FIGURE_KINDS = frozenset({"count", "duration", "date", "year", "ratio", "article", "frequency"})


@dataclass(frozen=True)
class Analysis:
    text: str
    kind: str = "what"
    kinds: tuple[str, ...] = ("what",)
    order: str = ""  # latest | earliest: which of several dated events is meant
    unit: str = ""
    years: tuple[int, ...] = ()
    version_year: int = 0  # the question asks about the version of this year
    titles: tuple[str, ...] = ()  # names in 《》
    laws: tuple[str, ...] = ()  # laws named without 《》, as their last 16 characters at most
    places: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # the question's own content words
    context_terms: tuple[str, ...] = ()  # a follow-up's words inherited from the earlier question
    focus: tuple[str, ...] = ()  # what the question word asks about
    focus_is_noun: bool = False
    stated: tuple[float, ...] = ()  # figures the question itself gives
    followup: bool = False
    several: bool = False  # asks for more than one thing
    asks_reason: bool = False  # asks why, and nothing of a kind above
    weights: tuple[tuple[str, float], ...] = ()  # term -> idf weight, own and context terms
    unseen: tuple[str, ...] = ()  # own terms no indexed passage holds: the member's own words
    # Which analysis this is: work cached for a question is shared by the steps answering it,
    # never by a later question, even the same text asked again.
    serial: int = field(default_factory=lambda: next(_serials), compare=False)

    @property
    def weight_of(self) -> dict[str, float]:
        return dict(self.weights)

    @property
    def asks_figure(self) -> bool:
        return self.kind in FIGURE_KINDS

    @property
    def asks_article_number(self) -> bool:
        """'规定在第几条' — not '第几号令', which a law's history line answers."""
        return self.kind == "article" and lexicon().article_number.search(self.text) is not None


def analyze(question: str, history: list[str] | tuple[str, ...] = (),
            document_frequency: Callable[[str], int] | None = None, n_passages: int = 1,
            leans: bool = False, lex: Lexicon | None = None) -> Analysis:
    """The question read on its own, then — when it leans on the one before (or `leans`: one
    part of a question, after the parts before it) — completed by what that one asked.
    `document_frequency(word)` (passages holding it) weighs the terms."""
    lex = lex or lexicon()
    df = document_frequency or (lambda word: 0)
    text = question.strip()
    own = _read(text, lex, lambda word: df(normalize(word)) > 0)
    followup = bool(history) and (leans or is_followup(text, lex))
    if followup:
        own = _complete(own, _read(history[-1], lex, lambda word: True))
    weights = {t: _weight(df(normalize(t)), n_passages) for t in own.terms}
    unseen = tuple(t for t in own.terms if not df(normalize(t)))
    for t in own.context_terms:
        weights.setdefault(t, _CONTEXT_WEIGHT * _weight(df(normalize(t)), n_passages, seen=1.0))
    return replace(own, followup=followup, weights=tuple(weights.items()), unseen=unseen)


def _read(text: str, lex: Lexicon, known: Callable[[str], bool]) -> Analysis:
    kinds = tuple(question_kinds(text, lex))
    unit = lex.unit_asked.search(text)
    years = tuple(sorted({int(y) for y in lex.year.findall(text)}))
    candidates = focus_candidates(text, lex)
    focus, is_noun = choose_focus(candidates, known, lex)
    return Analysis(
        text=text, kind=kinds[-1], kinds=kinds,
        order="latest" if lex.latest.search(text) else "earliest" if lex.earliest.search(text)
        else "",
        unit=unit.group(2) if unit else "", years=years,
        version_year=years[0] if years and lex.version.search(text) else 0,
        titles=tuple(re.findall(r"《([^》]{2,40})》", text)), laws=tuple(laws_named(text, lex)),
        places=tuple(places_in(text, lex)),
        bodies=tuple(bodies_named(text, lex)),
        # the measure word asked (场次) is read as the unit, with its aliases; not as a topic
        terms=tuple(t for t in content_terms(text, lex) if not unit or t != unit.group(2)),
        focus=tuple(focus), focus_is_noun=is_noun, stated=tuple(stated_figures(text)),
        several=len(kinds) > 1 or bool(lex.several.search(text)),
        asks_reason=kinds[-1] == "what" and bool(lex.reason_asked.search(text)))


def _complete(q: Analysis, prev: Analysis) -> Analysis:
    """A follow-up inherits what it leaves out: the kind, unit, names and topic of the earlier
    question ('那2024年呢？' asks the same thing about another year)."""
    short_what = q.kind == "what" and len(q.terms) <= 3
    # A year or place of its own replaces the earlier one ('那2024年呢？' is not about 2025).
    replaced = ({str(y) for y in prev.years} if q.years else set()) | \
        (set(prev.places) if q.places else set())
    inherited = tuple(t for t in prev.terms if t not in q.terms
                      and not any(r in t for r in replaced))
    framing = {str(y) for y in q.years} | set(q.places) | set(q.bodies)
    if q.terms and all(any(f in t or t in f for f in framing) for t in q.terms):
        # Only a new year, place or body ('那2024年呢？', '济南呢？'): the same question about
        # it, so the earlier question's topic is this one's own, at full weight.
        q = replace(q, terms=q.terms + inherited, focus=q.focus or prev.focus,
                    focus_is_noun=q.focus_is_noun if q.focus else prev.focus_is_noun,
                    stated=q.stated or prev.stated)
        inherited = ()
    if short_what and not q.focus and q.terms and not q.years:
        # Only a new thing ('那协商呢？' after '…提案数量是多少？'): the earlier question asked
        # of it, so it is what the answer must name and count.
        q = replace(q, focus=q.terms, focus_is_noun=True)
    return replace(
        q, kind=prev.kind if short_what else q.kind,
        unit=q.unit or (prev.unit if short_what else ""),
        bodies=tuple(dict.fromkeys(q.bodies + prev.bodies)), places=q.places or prev.places,
        titles=q.titles or prev.titles, laws=q.laws or (() if q.titles else prev.laws),
        years=q.years or prev.years,
        version_year=q.version_year or (prev.version_year if not q.years else 0),
        context_terms=inherited)


def _weight(df: int, n: int, seen: float = 0.0) -> float:
    """Rarer words weigh more (idf over the indexed passages)."""
    if not df and not seen:
        return _UNSEEN_WEIGHT
    n = max(n, 1)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


# ---- kinds -------------------------------------------------------------------------------------
def question_kinds(text: str, lex: Lexicon | None = None) -> list[str]:
    """One kind per sub-question: '哪天修订的？从哪天起施行？' -> [date, date]."""
    lex = lex or lexicon()
    kinds = [k for k in (clause_kind(c, lex) for c in lex.subquestion.split(text)) if k]
    return kinds or [clause_kind(text, lex) or "what"]


def clause_kind(clause: str, lex: Lexicon | None = None) -> str:
    lex = lex or lexicon()
    for kind, pattern in lex.kinds:
        if pattern.search(clause):
            return kind
    return "what" if lex.what.search(clause) else ""


def split_subquestions(text: str, lex: Lexicon | None = None) -> list[str]:
    """'哪天修订的？修订后从哪天起施行？' -> the two questions; one question stays whole."""
    lex = lex or lexicon()
    parts = [p.strip("，,；; ") for p in lex.parts.split(text)]
    asking = [p for p in parts if p and clause_kind(p, lex)]
    return asking if len(asking) > 1 else [text]


def unit_chars(unit: str, lex: Lexicon | None = None) -> str:
    """Measure words that count as the asked unit: 天 and 日 are one, 钱 is 元."""
    return (lex or lexicon()).unit_aliases.get(unit, unit)


# ---- names -------------------------------------------------------------------------------------
def places_in(text: str, lex: Lexicon | None = None) -> list[str]:
    """Place names (jieba's `ns`), as stems: 淄博市 -> 淄博, so 'our city' texts still match."""
    from ingest.tokens import pos_tags

    lex = lex or lexicon()
    found = []
    for word, flag in pos_tags(text):
        stem = lex.place_suffix.sub("", word)
        named = stem != word or stem in lex.provinces  # 淄博市, 山东 — not jieba's guesses
        if flag == "ns" and named and len(stem) >= 2 and stem not in lex.not_places:
            found.append(stem)
    return list(dict.fromkeys(found))


def laws_named(text: str, lex: Lexicon | None = None) -> list[str]:
    """Laws a question names without 《》: '按国旗法，…', '监督法最近一次修正…' -> 国旗法, 监督法
    (with what stands before it, up to 16 characters, less a leading 按/依照…; `names_law` reads
    its ends). Only where the question says it is a law (a leading 按/依照, or 规定, 第…条,
    修正, 施行… after it): 氨碱法 and 法国 name no law."""
    lex = lex or lexicon()
    bare = re.sub(r"《[^》]*》", "，", text)
    found = []
    for end_word in lex.name_ends:
        for m in re.finditer(re.escape(end_word), bare):
            if lex.name_goes_on.match(bare, m.end()):
                continue
            run = re.search(r"[\u4e00-\u9fff]{1,16}$", bare[:m.end()])
            piece = lex.name_joins.split(run.group())[-1] if run else ""
            name = lex.name_lead.sub("", piece)
            said_law = name != piece or lex.name_cue.search(bare[m.end():]) is not None
            if said_law and len(name) >= lex.name_shortest[end_word] and \
                    name[-len(end_word) - 1:] not in lex.not_names:
                found.append(name)
    return list(dict.fromkeys(found))


def names_law(name: str, title: str, lex: Lexicon | None = None) -> bool:
    """Does a law named in a question without 《》 ('…按国旗法') mean the document `title`?
    Some end of the name, at least `name_shortest` characters, stands in the title, whole or
    with its characters in order (国旗法 in 中华人民共和国国旗法; 最高法 -> 最高人民法院…; but
    处分条例 whole: 条例 is in every regulation's title)."""
    lex = lex or lexicon()
    end_word = next((e for e in lex.name_ends if name.endswith(e)), "")
    shortest = lex.name_shortest.get(end_word, 2)
    for size in range(shortest, len(name) + 1):
        end = name[-size:]
        if end in title or (size > shortest or end_word == "法") and in_order(end, title):
            return True
    return False


def in_order(short: str, long: str) -> bool:
    """Every character of `short` in `long`, in order (政协章程 in 中国人民政治协商会议章程)."""
    rest = iter(long)
    return all(ch in rest for ch in short)


def bodies_named(text: str, lex: Lexicon | None = None) -> list[str]:
    """Bodies the question is about, not those it only compares with."""
    lex = lex or lexicon()
    about = lex.comparison.sub("", text)
    return [b for b, rx in lex.body_in_question.items() if rx.search(about)]


def mentions_body(text: str, body: str, lex: Lexicon | None = None) -> bool:
    lex = lex or lexicon()
    norm = normalized(text)
    return any(alias in norm for alias in lex.bodies.get(body, (body,)))


def is_followup(text: str, lex: Lexicon | None = None) -> bool:
    """Leans on the previous question: starts with 那/这个/该…, ends in a short …呢, or names
    nothing to anchor it (no law, body, place or year)."""
    lex = lex or lexicon()
    if lex.followup_start.search(text) or (len(text) <= 14 and text.rstrip("？?").endswith("呢")):
        return True
    return not lex.anchor.search(text)


# ---- terms and focus ---------------------------------------------------------------------------
def content_terms(text: str, lex: Lexicon | None = None) -> list[str]:
    """Words that carry the topic: no stopwords, question words, filler or lone characters."""
    from ingest.tokens import words

    lex = lex or lexicon()
    terms = []
    for tok in words(text):
        tok = _trim_edges(tok, lex)
        if tok in lex.question_words or tok in STOPWORDS or tok in lex.filler:
            continue
        if len(tok) == 1 and not tok.isdigit():
            continue
        terms.append(tok)
    return list(dict.fromkeys(terms))


def _trim_edges(word: str, lex: Lexicon) -> str:
    if len(word) == 2 and word[1] in "是的了":
        return word[0]  # 法是, 长的: a particle stuck to one character
    if len(word) > 2 and word[0] in lex.edge_leading:
        word = word[1:]
    while len(word) > 2 and word[-1] in lex.edge_trailing:
        word = word[:-1]
    return word




def focus_candidates(text: str, lex: Lexicon | None = None) -> list[tuple[str, str]]:
    """Words before the question word of the last sub-question, nearest first, with their
    part of speech: what is asked about is among them ('秘书长是谁' -> 秘书长)."""
    from ingest.tokens import pos_tags

    lex = lex or lexicon()
    clauses = [c for c in lex.subquestion.split(text) if lex.asking.search(c)]
    if not clauses:
        return []
    clause = clauses[-1]
    asking = lex.asking.search(clause)
    out = []
    # '多少场次协商', '几家工作室': a noun right after the question word is what is counted.
    after = lex.counted.match(clause[asking.end():])
    if after and (asking.group(0).endswith("多少") or asking.group(0).startswith("几")):
        tags = pos_tags(after.group(1).strip("“”"))
        for word, flag in tags[:1]:
            # a compound noun is counted whole: 多少名委员工作室 counts 委员工作室, not 委员
            for more, more_flag in tags[1:]:
                if not more_flag.startswith("n"):
                    break
                word += more
            if len(word) >= 2 and word not in lex.generic and word not in STOPWORDS:
                out.append((word, "n" if flag.startswith("v") else flag))
    for word, flag in reversed(pos_tags(clause[:asking.start()])):
        word = _trim_edges(word, lex)
        if (len(word) < 2 or word in lex.generic or word in lex.filler or word in STOPWORDS
                or word in lex.question_words or word.isdigit()):
            continue
        if len(word) == 2 and any(ch in lex.function_chars for ch in word):
            continue  # 能管, 人用: jieba's splits of speech, not topics
        out.append((word, flag))
    return out


def choose_focus(candidates: list[tuple[str, str]], known: Callable[[str], bool],
                 lex: Lexicon | None = None) -> tuple[list[str], bool]:
    """The nearest noun — or a verb the documents use as a term (提案, 留置) — is the focus;
    also: is it a noun (a thing asked about, which an answer must name)."""
    lex = lex or lexicon()
    for word, flag in candidates:
        if flag.startswith(lex.noun_tags):
            return [word], True
        if flag.startswith("v") and known(word):
            return [word], False
    return [], False


@lru_cache(maxsize=4096)
def aliases(term: str) -> tuple[str, ...]:
    """The term as documents write it: 国企改革 -> 国有企业改革, 人大 -> 人民代表大会."""
    lex = lexicon()
    out = list(lex.synonyms.get(term, ()))
    for short, full in lex.expansions.items():
        if short in term:
            out.append(term.replace(short, full))
    return tuple(out)


def focus_found(term: str, text: str) -> bool:
    """The focus word, an alias of it, or (two characters) both characters close together."""
    text = normalized(text)
    if term in text or any(alias in text for alias in aliases(term)):
        return True
    if len(term) == 2:
        return re.search(re.escape(term[0]) + ".{0,2}" + re.escape(term[1]), text) is not None
    grams = [term[i:i + 2] for i in range(len(term) - 1)]
    return sum(g in text for g in grams) * 2 >= len(grams)


def stated_figures(text: str) -> list[float]:
    """The counts and ranks the question itself gives ('那452场活动里…'), not its dates."""
    from bot.answering.clues import figure_values

    return sorted(figure_values(text))


def expand_query(text: str) -> str:
    """The question plus the documents' words for its abbreviations (人大 -> 人民代表大会)."""
    lex = lexicon()
    extra = [alias for short, forms in lex.synonyms.items() if short in text and len(short) > 1
             for alias in forms if alias not in text and len(alias) > 2]
    return f"{text} {' '.join(dict.fromkeys(extra))}" if extra else text
