"""Answers as HTML for the chat: pure functions, no Gradio, everything from documents and users
escaped.

Each fragment is one line of HTML that starts with a block tag and holds no blank line, so the
chat's Markdown renderer passes it through as an HTML block and never reads document text as
Markdown. Every string that comes from a document, a question or the bot goes through
`html.escape` before it is placed in a tag; only the tags written here are markup.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from bot.answer import NOT_FOUND, Answer, Citation

_MARKER = re.compile(r"\[(\d+)\]")
SNIPPET_CONTEXT = 60  # characters of passage shown on each side of the quote when collapsed

EMPTY_SOURCES = (
    '<div class="kb-sources-empty">'
    '<div class="kb-sources-empty-title">引用来源</div>'
    "<p>提问后，这里会列出答案所依据的文件、日期和章节，并在原文段落中高亮被引用的句子。</p>"
    "<p>点击来源可展开完整段落。</p></div>")

PENDING = '<div class="kb-answer kb-pending"><span class="kb-dots">正在检索资料</span></div>'


def text_html(text: str) -> str:
    """Escaped text with line breaks kept (as <br>), for inside a tag."""
    return "<br>".join(escape(line) for line in text.split("\n"))


def user_html(question: str) -> str:
    """A member's question as it appears in the chat."""
    return f'<div class="kb-question">{text_html(question)}</div>'


def _with_markers(text: str, known: set[int] | None = None) -> str:
    """Escaped answer text whose [n] markers (for citations that exist) are styled."""
    out, last = [], 0
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if known is not None and n not in known:
            continue
        out.append(text_html(text[last:m.start()]))
        out.append(f'<span class="kb-ref" title="来源 [{n}]">[{n}]</span>')
        last = m.end()
    out.append(text_html(text[last:]))
    return "".join(out)


def streaming_html(text: str) -> str:
    """The answer as an LLM writes it: not yet checked, so shown as a draft."""
    return (f'<div class="kb-answer kb-streaming">{_with_markers(text)}'
            '<span class="kb-cursor">▍</span>'
            '<div class="kb-foot">正在生成，完成后将核对引用…</div></div>')


def error_html(message: str) -> str:
    """A problem answering (the question was refused, the knowledge base is not ready, ...)."""
    return (f'<div class="kb-answer kb-error"><div class="kb-error-head">无法回答</div>'
            f'<div class="kb-note">{text_html(message)}</div></div>')


def doubted(answer: Answer) -> bool:
    """Refused for doubt alone, with the closest passages to show (`bot.answer.closest_passages`):
    the member is shown them, marked as unconfirmed, instead of being told the knowledge base
    holds nothing."""
    return bool(answer.closest)


def answer_html(answer: Answer) -> str:
    """The chat message for one answer: verified, abstained or carrying unverified figures."""
    if answer.abstained:
        why = f'<div class="kb-note">原因：{text_html(answer.note)}</div>' if answer.note else ""
        foot = ("资料中可能有相关段落，但不足以可靠地作答；右侧列出最接近的原文，请自行核对。"
                if doubted(answer) else
                "知识库未收录能回答此问题的内容。可以换一种问法，或检查文件与年份筛选。")
        return (f'<div class="kb-answer kb-abstained">'
                f'<div class="kb-abstain-head">{escape(answer.answer or NOT_FOUND)}</div>{why}'
                f'<div class="kb-foot">{foot}</div></div>')
    known = {c.n for c in answer.citations}
    body = f'<div class="kb-text">{_with_markers(answer.answer, known)}</div>'
    parts = [body]
    rejected = answer.mode == "llm-rejected"
    if rejected:
        # The LLM's draft failed the check; what is shown is quoted from the documents, and the
        # note says which figures or names could not be found.
        parts.append(f'<div class="kb-warning kb-rejected"><strong>大模型回答未采用</strong>'
                     f'{text_html(answer.note)}</div>')
    elif answer.unverified_figures:
        items = "、".join(escape(f) for f in answer.unverified_figures)
        parts.append('<div class="kb-warning"><strong>⚠ 以下数字或名称未能在引用原文中核实，'
                     f'请以原文为准：</strong><span class="kb-unverified">{items}</span></div>')
    if answer.disputed:
        parts.append('<div class="kb-warning kb-disputed"><strong>⚠ 资料之间的数字不一致'
                     '</strong>，下面分别列出各自的出处，请核对原文。</div>')
    if answer.note and not rejected:
        parts.append(f'<div class="kb-note kb-small">{text_html(answer.note)}</div>')
    style = ("kb-unverified-answer" if (answer.unverified_figures and not rejected)
             or answer.disputed else "kb-verified")
    parts.append(f'<div class="kb-foot">{_badge(answer)}</div>')
    return f'<div class="kb-answer {style}">{"".join(parts)}</div>'


def _badge(answer: Answer) -> str:
    n = len(answer.citations)
    cited = f"引用 {n} 处原文" if n else "无引用"
    if answer.mode == "llm-rejected":
        return f"摘录自资料原文 · {cited}"
    if answer.unverified_figures or not answer.verified:
        return f"部分内容未核实 · {cited}"
    if answer.disputed:
        return f"⚠ 资料不一致，未作为确定答案 · {cited}"
    if answer.mode == "llm":
        return f"✓ 大模型撰写，引用已核对 · {cited}"
    return f"✓ 摘录自资料原文 · {cited}"


# ---- the sources panel ---------------------------------------------------------------------
def quote_span(c: Citation) -> tuple[int, int] | None:
    """Where the quote sits inside its passage, or None when it cannot be found there."""
    if not c.quote or not c.passage:
        return None
    start = c.start - c.passage_start
    if 0 <= start and c.passage[start:start + len(c.quote)] == c.quote:
        return start, start + len(c.quote)
    found = c.passage.find(c.quote)
    return (found, found + len(c.quote)) if found >= 0 else None


def passage_html(c: Citation) -> str:
    """The whole passage, escaped, with the quoted sentence in <mark>."""
    span = quote_span(c)
    if span is None:
        quote = f'<mark class="kb-quote">{text_html(c.quote)}</mark>' if c.quote else ""
        return (f'<div class="kb-quote-alone">{quote}</div>'
                f'<div class="kb-passage">{text_html(c.passage)}</div>')
    a, b = span
    return (f'<div class="kb-passage">{text_html(c.passage[:a])}'
            f'<mark class="kb-quote">{text_html(c.passage[a:b])}</mark>'
            f'{text_html(c.passage[b:])}</div>')


def snippet_html(c: Citation, context: int = SNIPPET_CONTEXT) -> str:
    """The quote with a little of the passage around it, for the collapsed card."""
    span = quote_span(c)
    if span is None:
        return f'<div class="kb-snippet"><mark class="kb-quote">{text_html(c.quote)}</mark></div>'
    a, b = span
    before, after = c.passage[max(0, a - context):a], c.passage[b:b + context]
    lead = "…" if a > context else ""
    tail = "…" if b + context < len(c.passage) else ""
    return (f'<div class="kb-snippet">{lead}{text_html(before)}'
            f'<mark class="kb-quote">{text_html(c.passage[a:b])}</mark>'
            f"{text_html(after)}{tail}</div>")


def title_html(title: str) -> str:
    title = title.strip() or "（无标题）"
    shown = title if title.startswith("《") else f"《{title}》"
    return escape(shown)


def section_of(c: Citation) -> str:
    return " › ".join(h.strip() for h in c.heading.split(" > ") if h.strip())


def citation_html(c: Citation, open_: bool = False) -> str:
    """One source card: [n] 《title》 date · section; click to show the whole passage."""
    meta = [escape(c.date)] if c.date else []
    section = section_of(c)
    if section:
        meta.append(escape(section))
    meta_html = f'<span class="kb-src-meta">{" · ".join(meta)}</span>' if meta else ""
    file_note = _file_note(c.source, c.title)
    return (f'<details class="kb-src" id="kb-src-{c.n}" data-n="{c.n}"{" open" if open_ else ""}>'
            f'<summary><span class="kb-src-n">[{c.n}]</span>'
            f'<span class="kb-src-title">{title_html(c.title)}</span>{meta_html}'
            f"{snippet_html(c)}</summary>"
            f'<div class="kb-src-body">{passage_html(c)}{file_note}</div></details>')


def sources_html(answer: Answer | None, question: str = "") -> str:
    """The sources panel for one answer: each citation with its passage, the quote marked."""
    if answer is None:
        return EMPTY_SOURCES
    asked = (f'<div class="kb-sources-question">问：{text_html(question)}</div>'
             if question else "")
    if doubted(answer):
        cards = "".join(closest_html(row) for row in answer.closest)
        return (f'<div class="kb-sources kb-closest-list"><div class="kb-sources-head">'
                f'最接近的原文</div>{asked}<div class="kb-sources-hint">未能确认这些段落回答了'
                f'这个问题，它们不是答案，仅供核对。点击可展开完整段落。</div>{cards}</div>')
    if not answer.citations:
        why = "知识库中没有能回答这个问题的资料。" if answer.abstained else "这个回答没有引用。"
        return (f'<div class="kb-sources"><div class="kb-sources-head">引用来源</div>{asked}'
                f'<div class="kb-sources-none">{why}</div></div>')
    cards = "".join(citation_html(c, open_=(i == 0)) for i, c in enumerate(answer.citations))
    return (f'<div class="kb-sources"><div class="kb-sources-head">引用来源 '
            f'<span class="kb-count">{len(answer.citations)}</span></div>{asked}'
            f'<div class="kb-sources-hint">点击来源可展开或收起完整段落，黄色为被引用的句子。</div>'
            f"{cards}</div>")


def closest_html(row: dict, lead: int = 2 * SNIPPET_CONTEXT) -> str:
    """One passage read for a doubted refusal (an `Answer.closest` row): its title and opening,
    the whole passage on click; nothing in it is marked as a quote."""
    text = row.get("text", "")
    opening = text_html(text[:lead]) + ("…" if len(text) > lead else "")
    file_note = _file_note(row.get("source", ""), row.get("title", ""))
    return (f'<details class="kb-src kb-closest"><summary>'
            f'<span class="kb-src-title">{title_html(row.get("title", ""))}</span>'
            f'<div class="kb-snippet">{opening}</div></summary>'
            f'<div class="kb-src-body"><div class="kb-passage">{text_html(text)}</div>'
            f"{file_note}</div></details>")


def _file_note(source: str, title: str) -> str:
    """The file a passage comes from, when its name says more than the title."""
    return (f'<div class="kb-src-file">来源：{escape(source)}</div>'
            if source and source != title else "")


def when(ts: float) -> str:
    """A Unix time as the desk shows it (local time, to the minute); empty for 0."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else ""
