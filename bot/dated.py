"""Date and year questions about laws: answered from the law's adoption/amendment history."""

from __future__ import annotations

import re

from bot.extractive import Pick, Source, candidates, history_pick
from bot.question import QuestionInfo, question_kinds, split_subquestions

_CONTENT_LEAD = 1.1  # content must beat a dated sentence by this factor to route via history


def dated_picks(picks: list[Pick], sources: list[Source], q: QuestionInfo,
                weights: dict[str, float], ground) -> list[Pick]:
    """'现行宪法最近一次修正是哪天' -> the right history line; '这一款是哪年加进去的' -> the
    history line of the law holding that clause, beside the clause itself."""
    body = [s for s in sources if not s.header]
    content = candidates(body, q, weights, kind="what")[:1]
    best = picks[0] if picks else None
    if best is not None and not best.source.header and (
            not content or best.coverage * _CONTENT_LEAD >= content[0].coverage):
        return picks  # a dated sentence in the text itself answers it
    doc_id = best.source.doc_id if best is not None and best.source.header else (
        content[0].source.doc_id if content else None)
    if doc_id is None:
        return picks
    headers = [s for s in sources if s.header and s.doc_id == doc_id] \
        or ground.header_sources(doc_id, len(sources))
    dated = []
    for clause in date_clauses(q.text):
        pick = history_pick(headers, clause, q.order, weights)
        if pick is not None and all(pick.quote != d.quote for d in dated):
            dated.append(pick)
    if not dated:
        return picks
    about_text = content and content[0].source.doc_id == doc_id and \
        not _names_only_title(q, dated[0])
    return dated + [content[0]] if about_text else dated


def _names_only_title(q: QuestionInfo, dated: Pick) -> bool:
    """'国歌法是哪天通过的' asks about the law itself, not about one of its sentences."""
    context = dated.source.context
    rest = [t for t in q.terms if t not in context and t not in dated.quote]
    return len(rest) <= 1


def date_clauses(text: str) -> list[str]:
    """The sub-questions asking for a date or a year ('哪天修订的？从哪天起施行？' -> both)."""
    clauses = [c for c in split_subquestions(text) if question_kinds(c)[-1] in ("date", "year")]
    return clauses or [text]


_HISTORY_EVENTS = re.compile(r"通过|修正|修订|修改|公布|发布|施行|生效|修宪|加进|写入|制定|颁布")


def asks_history(q: QuestionInfo) -> bool:
    """'哪年修宪时加进去的', '哪天施行' ask about a law's history; '哪年审定录制的' does not."""
    return bool(_HISTORY_EVENTS.search(q.text))
