"""An answer as plain text, for clients that show text only (OpenAI-compatible chat, MCP):
the answer with its [n] markers, any note or warning, then the numbered sources."""

from __future__ import annotations

from bot.answer import Answer, Citation

SOURCES_HEAD = "来源："
CLOSEST_HEAD = "最接近的原文（未能确认它们回答了这个问题，不是答案，仅供核对）："
CLOSEST_OPENING = 60  # characters of each closest passage shown
UNVERIFIED_HEAD = "未核实"


def answer_text(answer: Answer) -> str:
    parts = [answer.answer.strip()]
    if answer.note:
        parts.append(f"（{answer.note}）")
    if not answer.verified:
        figures = "、".join(answer.unverified_figures) or "回答未能与资料核对"
        parts.append(f"{UNVERIFIED_HEAD}：{figures}")
    if answer.citations:
        parts.append(sources_text(answer.citations))
    if answer.closest:
        parts.append(closest_text(answer.closest))
    return "\n\n".join(parts)


def closest_text(rows: list[dict]) -> str:
    """The passages listed beside a refusal for doubt: title and opening, numbered ① ② ③ so
    that they are not read as the [n] citations of an answer."""
    lines = [CLOSEST_HEAD]
    for i, row in enumerate(rows):
        text = " ".join(row.get("text", "").split())
        opening = text[:CLOSEST_OPENING] + ("…" if len(text) > CLOSEST_OPENING else "")
        lines.append(f"{chr(0x2460 + i)} 《{row.get('title', '')}》：{opening}")
    return "\n".join(lines)


def sources_text(citations: list[Citation]) -> str:
    lines = [SOURCES_HEAD]
    for c in citations:
        where = " · ".join(x for x in (c.heading, c.date) if x)
        lines.append(f"[{c.n}] 《{c.title}》{f'（{where}）' if where else ''}：“{c.quote}”")
    return "\n".join(lines)


def citation_data(c: Citation) -> dict:
    """A citation as structured data for text clients (without the whole passage)."""
    return {"n": c.n, "doc_id": c.doc_id, "title": c.title, "source": c.source,
            "quote": c.quote, "heading": c.heading, "date": c.date, "chunk_id": c.chunk_id,
            "start": c.start, "end": c.end, "score": c.score}
