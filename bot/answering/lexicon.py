"""The vocabulary of the answer path, read once from lexicon.toml into compiled patterns."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICON_FILE = Path(__file__).with_name("lexicon.toml")


@dataclass(frozen=True)
class Lexicon:
    kinds: tuple[tuple[str, re.Pattern], ...]  # in order: the first match names the kind
    what: re.Pattern
    several: re.Pattern
    subquestion: re.Pattern
    parts: re.Pattern
    article_number: re.Pattern
    date_asked: re.Pattern
    asking: re.Pattern  # any question word
    counted: re.Pattern  # what follows 多少/几: measure word, then the thing counted
    function_chars: frozenset[str]
    unit_asked: re.Pattern
    unit_aliases: dict[str, str]
    strict_units: frozenset[str]
    year: re.Pattern
    version: re.Pattern
    latest: re.Pattern
    earliest: re.Pattern
    events: tuple[str, ...]
    event_synonyms: dict[str, str]
    history_words: re.Pattern
    normative: re.Pattern
    article_ref: re.Pattern
    cites: re.Pattern
    name_ends: tuple[str, ...]
    name_goes_on: re.Pattern
    not_names: frozenset[str]
    name_shortest: dict[str, int]
    name_lead: re.Pattern
    name_joins: re.Pattern
    name_cue: re.Pattern
    document_ends: tuple[str, ...]
    place_suffix: re.Pattern
    provinces: frozenset[str]
    not_places: frozenset[str]
    national: re.Pattern
    bodies: dict[str, tuple[str, ...]]
    body_in_question: dict[str, re.Pattern]
    comparison: re.Pattern
    question_words: frozenset[str]
    filler: frozenset[str]
    generic: frozenset[str]
    edge_leading: str
    edge_trailing: str
    followup_start: re.Pattern
    anchor: re.Pattern
    noun_tags: tuple[str, ...]
    synonyms: dict[str, tuple[str, ...]]
    expansions: dict[str, str]
    total: re.Pattern
    slogan: re.Pattern
    organisation: re.Pattern
    frequency: re.Pattern
    ratio: re.Pattern
    approximate: re.Pattern
    reason_asked: re.Pattern  # a question asking why
    cause: re.Pattern  # a sentence stating a cause
    consequence: re.Pattern  # a sentence opening with a consequence of what precedes it


@lru_cache(maxsize=4)
def lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    """The lexicon in `path` (the shipped one by default), parsed and compiled once."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    k, u, t, law, pl, b, w, fig = (raw[s] for s in ("kinds", "units", "time", "laws", "places",
                                                    "bodies", "words", "figures"))
    c = re.compile
    return Lexicon(
        kinds=tuple((kind, c(k[kind])) for kind in k["order"]), what=c(k["what"]),
        several=c(k["several"]), subquestion=c(k["subquestion"]),
        parts=c(k["parts"]), article_number=c(k["article_number"]), date_asked=c(k["date_asked"]),
        asking=c(k["asking"]), counted=c(k["counted"]), function_chars=frozenset(k["function_chars"]), unit_asked=c(u["asked"]),
        unit_aliases=dict(u["aliases"]), strict_units=frozenset(u["strict"]),
        year=c(t["year"]), version=c(t["version"]), latest=c(t["latest"]),
        earliest=c(t["earliest"]), events=tuple(law["events"]),
        event_synonyms=dict(law["event_synonyms"]), history_words=c(law["history_words"]),
        normative=c(law["normative"]), article_ref=c(law["article_ref"]),
        cites=c(law["cites"]),
        name_ends=tuple(law["name_ends"]), name_goes_on=c(law["name_goes_on"]),
        not_names=frozenset(law["not_names"]), name_shortest=dict(law["name_shortest"]),
        name_lead=c(law["name_lead"]), name_joins=c(law["name_joins"]),
        name_cue=c(law["name_cue"]), document_ends=tuple(law["document_ends"]),
        place_suffix=c(pl["suffix"]), provinces=frozenset(pl["provinces"]),
        not_places=frozenset(pl["not_places"]), national=c(pl["national"]),
        bodies={name: tuple(aliases) for name, aliases in b["names"].items()},
        body_in_question={name: c(rx) for name, rx in b["in_question"].items()},
        comparison=c(b["comparison"]), question_words=frozenset(w["question"]),
        filler=frozenset(w["filler"]), generic=frozenset(w["generic"]),
        edge_leading=w["edge_leading"], edge_trailing=w["edge_trailing"],
        followup_start=c(w["followup_start"]), anchor=c(w["anchor"]),
        noun_tags=tuple(w["noun_tags"]),
        synonyms={word: tuple(forms) for word, forms in raw["synonyms"].items()},
        expansions=dict(raw["expansions"]), total=c(fig["total"]), slogan=c(fig["slogan"]),
        organisation=c(fig["organisation"]), frequency=c(fig["frequency"]),
        ratio=c(fig["ratio"]), approximate=c(fig["approximate"]),
        reason_asked=c(raw["reasons"]["asked"]), cause=c(raw["reasons"]["cause"]),
        consequence=c(raw["reasons"]["consequence"]))
