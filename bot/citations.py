"""Citations and the number guard: every figure and name shown as fact is in what it cites."""

from __future__ import annotations

import re

from bot.answer import NOT_FOUND, Answer, Citation
from bot.answering.evidence import Candidate
from bot.figures import find_figures, untraced_figures
from bot.retrieval import Passage
from ingest.splitter import sentence_spans

_MARKER = re.compile(r"\[(\d+)\]")
_NAMES = re.compile(r"《([^》]{2,60})》|“([^”]{2,60})”")


def untraced_names(answer: str, sources: list[str]) -> list[str]:
    """《titles》 and “quoted names” of the answer that none of the sources contains."""
    joined = "\n".join(sources)
    names = [a or b for a, b in _NAMES.findall(answer)]
    return [n for n in names if n not in joined]


def _source_text(c: Citation) -> str:
    """What a citation vouches for: its passage, and the document's title, section and date."""
    return f"{c.title}\n{c.heading}\n{c.date}\n{c.passage}"


def check(answer: str, citations: list[Citation]) -> list[str]:
    """What in `answer` its citations do not back: figures, then names."""
    texts = [_source_text(c) for c in citations]
    return untraced_figures(answer, texts) + untraced_names(answer, texts)


def _citation(n: int, p: Passage, start: int, end: int, ground) -> Citation:
    meta = p.meta
    rec = ground.records.get(p.doc_id)
    return Citation(
        n=n, doc_id=p.doc_id, title=meta.get("title", ""), source=meta.get("source", ""),
        quote=p.text[start:end], start=meta["start"] + start, end=meta["start"] + end,
        score=round(float(p.score), 5), chunk_id=p.chunk_id, passage=p.text,
        passage_start=meta["start"], heading=section_path(meta),
        date=rec.date if rec else meta.get("date", ""))


def section_path(meta: dict) -> str:
    """Where a passage sits: its heading path, then its article (第六条), " > "-joined."""
    parts = [h for h in (meta.get("headings") or "").split(" > ") if h.strip()]
    article = (meta.get("article") or "").strip()
    if article and article not in parts:
        parts.append(article)
    return " > ".join(parts)


def build_citations(picks: list[Candidate], ground) -> Answer:
    """The extractive answer: each quote led by its document and article, with its [n]. A pick
    that reads on from the one before in the same passage (a list item after its lead among
    them) joins its line: one quote and one [n] when nothing but space or a clause's closing
    comma or semicolon stands between them, else "……" and a [n] of its own."""
    citations: list[Citation] = []
    lines = []
    for i, pick in enumerate(picks):
        p = pick.source.passage
        before = picks[i - 1] if i else None
        if before is not None and before.source.passage.chunk_id == p.chunk_id and \
                before.end <= pick.start and pick.lead_text in ("", before.lead_text,
                                                                before.quote):
            between = p.text[before.end:pick.start]
            if not between.strip().strip("，,；;"):  # a clause's end the trim left out
                first = citations[-1]
                citations[-1] = _citation(first.n, p, first.start - p.meta["start"], pick.end,
                                          ground)
                lines[-1] = lines[-1][:-len(f"[{first.n}]")] + f"{between}{pick.quote}[{first.n}]"
                continue
            citations.append(_citation(len(citations) + 1, p, pick.start, pick.end, ground))
            lines[-1] += f"……{pick.quote}[{len(citations)}]"
            continue
        n = len(citations) + 1
        citations.append(_citation(n, p, pick.start, pick.end, ground))
        intro = f"{pick.lead_text}……" if pick.lead_text else ""
        lead = _lead(p, pick.lead_text or pick.quote, citations[-1].date)
        lines.append(f"{lead}{intro}{pick.quote}[{n}]")
    text = "\n".join(lines)
    problems = check(text, citations)
    return Answer(text, abstained=False, verified=not problems, citations=citations,
                  unverified_figures=problems)


def _lead(p: Passage, quote: str, date: str = "") -> str:
    """据《监察法》（2024年12月25日）第四十八条：— where the quote comes from, said first."""
    title = p.meta.get("title", "")
    article = p.meta.get("article", "")
    where = f"《{title}》" if title else ""
    if date and len(date) == 10:
        where += f"（{int(date[:4])}年{int(date[5:7])}月{int(date[8:])}日）"
    if article and not quote.startswith(article):
        where += article
    return f"据{where}：" if where else ""


def llm_answer(text: str, passages: list[Passage], ground) -> Answer:
    """An LLM's text with its [n] markers resolved to citations (quote = best-matching sentence)."""
    text = text.strip()
    if not text or NOT_FOUND[:8] in text:
        return Answer(NOT_FOUND, abstained=True, verified=True, mode="llm")
    citations: dict[int, Citation] = {}
    last = 0
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if 1 <= n <= len(passages) and n not in citations:
            p = passages[n - 1]
            start, end = _best_sentence(p.text, text[last:m.start()])
            citations[n] = _citation(n, p, start, end, ground)
        last = m.end()
    return Answer(text, abstained=False, verified=True, mode="llm",
                  citations=[citations[n] for n in sorted(citations)])


def _best_sentence(passage: str, claim: str) -> tuple[int, int]:
    grams = {claim[i:i + 2] for i in range(len(claim) - 1)}
    spans = sentence_spans(passage) or [(0, len(passage))]
    return max(spans, key=lambda s: sum(passage[i:i + 2] in grams for i in range(s[0], s[1] - 1)))


def verify_llm_answer(answer: Answer, fallback: Answer) -> Answer:
    """Show an LLM answer as fact only if it cites, and its citations hold its figures and names;
    otherwise the extractive answer is shown, with a note saying what failed."""
    problems = ["（没有引用标注）"] if not answer.citations else check(answer.answer, answer.citations)
    if not problems:
        return answer
    fallback.unverified_figures = problems
    reason = "、".join(problems)
    fallback.note = (f"大模型的回答含有无法在引用资料中核实的内容（{reason}），未予采用，"
                     f"以下为资料原文摘录。" + (f"{fallback.note}" if fallback.note else ""))
    fallback.mode = "llm-rejected"
    return fallback


def _said_by_another(i: int, parts: list[Answer]) -> bool:
    """Does another part's answer quote, from the same documents, all that part i quotes and
    more? ('全年636件提案承载民意' for one part, '全年636件提案承载民意，167场次协商激荡智慧'
    for the next: the longer quote answers both, shown once.)"""
    def spans(a: Answer) -> set[tuple[str, int, int]]:
        return {(c.doc_id, c.start, c.end) for c in a.citations}

    def within(inner: set, outer: set) -> bool:
        return all(any(d == od and os <= s and e <= oe for od, os, oe in outer)
                   for d, s, e in inner)

    mine = spans(parts[i])
    return bool(mine) and any(
        not other.abstained and j != i and spans(other) != mine and within(mine, spans(other))
        for j, other in enumerate(parts))


def combine(parts: list[Answer], labels: list[str]) -> Answer:
    """One answer from the answers to each part, markers renumbered; a part the knowledge base
    does not hold says so instead of vanishing."""
    answered = [p for p in parts if not p.abstained]
    if not answered:
        first = parts[0]
        first.note = "；".join(dict.fromkeys(p.note for p in parts if p.note))
        return first
    lines, citations, problems = [], [], []
    shown: set[str] = set()
    for i, (part, label) in enumerate(zip(parts, labels), 1):
        said = _MARKER.sub("", part.answer)
        if not part.abstained and (said in shown or _said_by_another(i - 1, parts)):
            continue  # answered by quotes another part shows too: not shown twice
        shown.add(said)
        if part.abstained:
            # Named by its words, or by its place when they hold a figure: an answer shows no
            # figure its citations do not hold, not even one echoed from the question.
            named = (f"“{label}”" if not find_figures(label) else "前一问" if i == 1
                     else "后一问" if i == len(parts) else "其中一问")
            lines.append(f"关于{named}：{NOT_FOUND}")
            continue
        offset = len(citations)
        lines.append(_MARKER.sub(lambda m: f"[{int(m.group(1)) + offset}]", part.answer))
        for c in part.citations:
            c.n += offset
            citations.append(c)
        problems += part.unverified_figures
    return Answer("\n".join(lines), abstained=False, verified=not problems, citations=citations,
                  unverified_figures=problems, support=min(p.support for p in answered),
                  note="；".join(dict.fromkeys(p.note for p in parts if p.note)))
