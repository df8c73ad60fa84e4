"""Chinese-aware chunking: structure first (headings, articles, paragraphs), then sentence ends.

Pure functions over a document's normalised text. Every chunk is an exact span of that text
(`text == doc_text[start:end]`), so a citation can point at it; the heading path and the article
number travel as metadata and are prepended only to what gets indexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER_END = "<!-- INFO END -->"
CN_NUM = "零〇一二三四五六七八九十百千万两"
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_PART_HEADING = re.compile(rf"^(第[{CN_NUM}\d]+(编|分编|章|节))([\s\u3000]+\S.*)?$")
_ARTICLE = re.compile(rf"^(第[{CN_NUM}\d]+条(之[{CN_NUM}]+)?)(?=[\s\u3000]|$)")
_SENT_END = "。！？；!?;…"
_CLAUSE_END = "，、,：:"
_OPEN_QUOTES = "“‘「『《（(【"
_CLOSE_QUOTES = "”’」』》）)】"
# 亿/元 keep "3.92亿元" whole and 分之 keeps "三分之二" whole (both promised by _safe_boundary).
_DIGITISH = set("0123456789０１２３４５６７８９.．%％" + CN_NUM + "亿元分之年月日号点")
_HEADER_FACTOR = 4
_PART_LEVEL = {"编": 1, "分编": 2, "章": 3, "节": 4}


@dataclass
class Chunk:
    text: str
    start: int
    end: int
    position: int
    headings: list[str] = field(default_factory=list)
    kind: str = "text"  # text | article | header
    article: str | None = None

    @property
    def heading_path(self) -> str:
        return " > ".join(self.headings)


@dataclass
class _Block:
    start: int
    end: int
    headings: list[str]
    kind: str
    article: str | None = None


def split_document(text: str, max_chars: int = 300, min_chars: int = 80) -> list[Chunk]:
    """Chunks for one document; `max_chars` bounds a chunk, `min_chars` merges tiny paragraphs."""
    blocks = _blocks(text)
    chunks: list[Chunk] = []
    pending: list[_Block] = []
    for block in blocks:
        if pending and not _can_merge(pending, block, text, max_chars, min_chars):
            chunks.extend(_emit(pending, text, max_chars))
            pending = []
        pending.append(block)
    if pending:
        chunks.extend(_emit(pending, text, max_chars))
    for i, chunk in enumerate(chunks):
        chunk.position = i
    return chunks


def _can_merge(pending: list[_Block], block: _Block, text: str, max_chars: int,
               min_chars: int) -> bool:
    """Small neighbouring paragraphs of one section share a chunk; articles stand alone."""
    first = pending[0]
    if block.kind != "text" or first.kind != "text" or block.headings != first.headings:
        return False
    size = block.end - first.start
    last_len = pending[-1].end - pending[-1].start
    return size <= max_chars and (last_len < min_chars or block.end - block.start < min_chars)


def _emit(blocks: list[_Block], text: str, max_chars: int) -> list[Chunk]:
    first, last = blocks[0], blocks[-1]
    # A law's history stays one passage where it can: "最近一次修正" needs all its lines.
    limit = max_chars * _HEADER_FACTOR if first.kind == "header" else max_chars
    spans = split_span(text, first.start, last.end, limit)
    return [Chunk(text[s:e], s, e, 0, list(first.headings), first.kind, first.article)
            for s, e in spans]


def _lines(text: str):
    pos = 0
    for line in text.split("\n"):
        yield pos, pos + len(line), line
        pos += len(line) + 1


def _blocks(text: str) -> list[_Block]:
    """Paragraph-level blocks with the headings they sit under; law articles grouped whole."""
    marker = text.find(HEADER_END)
    body_from = 0
    blocks: list[_Block] = []
    if marker >= 0:
        head = _trim_span(text, 0, marker)
        if head[1] > head[0]:
            blocks.append(_Block(head[0], head[1], [], "header"))
        body_from = marker + len(HEADER_END)
    headings: list[tuple[int, str]] = []  # (level, title)
    current: _Block | None = None
    lines = [(s, e, ln.strip().strip("\u3000")) for s, e, ln in _lines(text) if s >= body_from]
    marked_up = any(_MD_HEADING.match(ln) for _, _, ln in lines)
    for i, (start, end, stripped) in enumerate(lines):
        if not stripped:
            if current is not None and current.kind == "text":
                blocks.append(current)
                current = None
            continue
        heading = _heading(stripped) or (None if marked_up else _plain_heading(lines, i))
        if heading is not None:
            if current is not None:
                blocks.append(current)
                current = None
            level, title = heading
            if level == 1 and not headings and not blocks:
                continue  # the document title: stored as metadata, not a section
            headings = [h for h in headings if h[0] < level] + [(level, title)]
            continue
        s, e = _trim_span(text, start, end)
        path = [t for _, t in headings]
        article = _ARTICLE.match(stripped)
        if article:
            if current is not None:
                blocks.append(current)
            current = _Block(s, e, path, "article", article.group(1))
        elif current is not None and current.kind == "article" and current.headings == path:
            current.end = e  # paragraphs and items of the same article
        elif current is not None and current.kind == "text":
            current.end = e  # a hard-wrapped paragraph continues
        else:
            if current is not None:
                blocks.append(current)
            current = _Block(s, e, path, "text")
    if current is not None:
        blocks.append(current)
    return [b for b in blocks if b.end > b.start]


def _plain_heading(lines: list[tuple[int, int, str]], i: int) -> tuple[int, str] | None:
    """In unmarked text, a short line standing alone before a longer paragraph is a heading."""
    line = lines[i][2]
    if len(line) > 30 or line[-1] in _SENT_END + _CLAUSE_END or line.isdigit():
        return None
    if i > 0 and lines[i - 1][2]:
        return None
    following = [ln for _, _, ln in lines[i + 1:i + 4] if ln]
    if i + 1 < len(lines) and lines[i + 1][2]:
        return None
    if not following or len(following[0]) < 2 * len(line) or following[0][-1] not in _SENT_END:
        return None
    return 2, line


def _heading(line: str) -> tuple[int, str] | None:
    md = _MD_HEADING.match(line)
    if md:
        return len(md.group(1)), md.group(2).strip()
    part = _PART_HEADING.match(line)
    if part and len(line) <= 40 and line[-1] not in _SENT_END:
        return _PART_LEVEL[part.group(2)] + 1, line
    return None


def _trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\u3000\n\r":
        start += 1
    while end > start and text[end - 1] in " \t\u3000\n\r":
        end -= 1
    return start, end


def split_span(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut [start, end) into pieces of at most max_chars, at sentence ends where possible."""
    if end - start <= max_chars:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    cur = start
    while end - cur > max_chars:
        cut = _best_cut(text, cur, min(end, cur + max_chars))
        pieces.append(_trim_span(text, cur, cut))
        cur = _trim_span(text, cut, end)[0]
    if end > cur:
        pieces.append((cur, end))
    return [p for p in pieces if p[1] > p[0]]


def _best_cut(text: str, lo: int, hi: int) -> int:
    """The last safe boundary in (lo, hi]: a line end, then a sentence end, then a clause end."""
    floor = lo + (hi - lo) // 3  # never make a piece shorter than a third of the limit
    depth = _quote_depths(text, lo, hi)
    for enders in ("\n", _SENT_END, _CLAUSE_END):
        for pos in range(hi, floor, -1):
            ch = text[pos - 1]
            if ch in enders and depth[pos - lo - 1] == 0 and _safe_boundary(text, pos):
                while pos < hi and text[pos] in _CLOSE_QUOTES + _SENT_END:
                    pos += 1
                return pos
    for pos in range(hi, floor, -1):
        if _safe_boundary(text, pos):
            return pos
    return hi


def _quote_depths(text: str, lo: int, hi: int) -> list[int]:
    depths, depth = [], 0
    for ch in text[lo:hi]:
        if ch in _OPEN_QUOTES:
            depth += 1
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
        depths.append(depth)
    return depths


def _safe_boundary(text: str, pos: int) -> bool:
    """Not inside a number or a date: 3.92亿元, 6,000, 2025年7月11日, 三分之二."""
    if pos <= 0 or pos >= len(text):
        return True
    before, after = text[pos - 1], text[pos]
    if before in _DIGITISH and after in _DIGITISH:
        return False
    if before in ",，.．" and pos >= 2 and text[pos - 2].isdigit() and after.isdigit():
        return False
    return not (after in ",.．" and before.isdigit() and pos + 1 < len(text)
                and text[pos + 1].isdigit())


def clause_cuts(text: str, marks: str = "，,；;：:") -> list[int]:
    """Where `text` may be cut between clauses: just after a mark of `marks` that is outside
    quotes and brackets (unless they never close) and not inside a figure (46,600, 10:30)."""
    depth = _quote_depths(text, 0, len(text))
    balanced = not depth or depth[-1] == 0
    return [i + 1 for i, ch in enumerate(text)
            if ch in marks and (depth[i] == 0 or not balanced) and _safe_boundary(text, i + 1)
            and not (0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit())]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as spans; ends at 。！？；… (with closing quotes), outside quotes."""
    end = len(text) if end is None else end
    spans, cur, depth, pos = [], start, 0, start
    while pos < end:
        ch = text[pos]
        if ch in _OPEN_QUOTES:
            depth += 1
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
        pos += 1
        if (ch in _SENT_END and depth == 0) or ch == "\n":
            while pos < end and text[pos] in _CLOSE_QUOTES + _SENT_END:
                pos += 1
            span = _trim_span(text, cur, pos)
            if span[1] > span[0]:
                spans.append(span)
            cur = pos
    span = _trim_span(text, cur, end)
    if span[1] > span[0]:
        spans.append(span)
    return spans
