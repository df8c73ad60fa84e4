"""HTML pages: visible article text in reading order, headings as Markdown, no scripts or menus."""

from __future__ import annotations

import codecs
import re

from ingest.readers.base import MAX_HTML_DEPTH, MAX_HTML_MB, Extracted, Unreadable
from ingest.readers.encoding import MAX_CONTROL_SHARE, control_share, decode_text

_DROP_TAGS = {
    "head", "script", "style", "noscript", "template", "nav", "aside", "iframe", "frame", "svg",
    "canvas", "button", "select", "input", "textarea", "object", "embed", "audio", "video",
    "map", "dialog", "menu",
}
_PAGE_FRAME = {"header", "footer"}  # site banner and footer, unless inside the article
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu",
               "menubar", "toolbar"}
# class/id words that name page furniture, never an article body.
_FURNITURE_WORDS = {"breadcrumb", "breadcrumbs", "share", "sharing", "social", "comment",
                    "comments", "related", "recommend", "sidebar", "navbar", "toolbar",
                    "advert", "advertisement", "cookie", "cookies"}
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr",
    "html", "li", "main", "ol", "p", "section", "summary", "ul",
}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_NEWLINE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n[ \t\n\r\f]*(?=[{_CJK}])")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # not \s: U+3000 and NBSP are text in Chinese pages
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "euc-cn"}
_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9]*)[^<>]*?(/?)>")
# Tags that never nest (void) or that the parser closes by itself when the next one opens: a
# page full of unclosed <p> or <li> is flat, not deep.
_FLAT_TAGS = {b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link",
              b"meta", b"param", b"source", b"track", b"wbr", b"p", b"li", b"dt", b"dd", b"tr",
              b"td", b"th", b"option", b"optgroup", b"tbody", b"thead", b"tfoot", b"colgroup",
              b"rb", b"rt", b"rp", b"!doctype"}


def read_html(raw: bytes) -> Extracted:
    """An HTML page as Markdown-ish text: `#` headings, paragraphs, table rows with ` | `."""
    from selectolax.lexbor import LexborHTMLParser

    check_markup(raw)
    html, encoding = decode_html(raw)
    tree = LexborHTMLParser(html)
    page_title = tree.css_first("title")
    root = tree.body or tree.root
    if root is None:
        return Extracted("", encoding, None)
    blocks = _Blocks()
    _walk(root, blocks)
    title = blocks.first_h1 or (_collapse(page_title.text()) if page_title else None)
    return Extracted("\n\n".join(blocks.done), encoding, title or None)


def check_markup(raw: bytes) -> None:
    """Refuse, before parsing, a page too large or nested too deep to parse in bounded memory
    and time (MAX_HTML_MB, MAX_HTML_DEPTH): real pages are a few hundred KB and a few dozen
    levels deep."""
    mb = len(raw) / (1024 * 1024)
    if mb > MAX_HTML_MB:
        raise Unreadable(
            f"网页文件超过 {MAX_HTML_MB} MB / this web page is {mb:,.1f} MB of markup, over the "
            f"limit of {MAX_HTML_MB} MB for a page (parsing takes about 40 times that in memory)",
            "save the page's text as .txt (or print it to PDF) and add that, or split it")
    depth = deepest = 0
    for m in _TAG.finditer(raw):
        name = m.group(2).lower()
        if m.group(3) or name in _FLAT_TAGS:
            continue
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_HTML_DEPTH:
                raise Unreadable(
                    f"网页标签嵌套超过 {MAX_HTML_DEPTH:,} 层 / this web page nests its tags more "
                    f"than {MAX_HTML_DEPTH:,} levels deep: it is damaged or machine-made, and "
                    "parsing it would take hours",
                    "open it in a browser, save its text as .txt (or print it to PDF) and add "
                    "that")


def decode_html(raw: bytes) -> tuple[str, str]:
    """Decode by BOM or valid UTF-8 first, then the page's <meta charset>, then by detection."""
    declared = _declared_charset(raw)
    # Pages re-saved as UTF-8 often keep a stale "gb2312" meta; valid UTF-8 is never an accident.
    if declared and not raw.startswith(_BOMS) and not _is_utf8(raw):
        try:
            text = raw.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass  # the declaration is wrong: fall back to detection
        else:
            if control_share(text) <= MAX_CONTROL_SHARE:
                return text, declared
    return decode_text(raw)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _declared_charset(raw: bytes) -> str | None:
    match = _META_CHARSET.search(raw[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii").lower()
    return "gb18030" if name in _GB_ALIASES else name  # GB18030 decodes all GBK/GB2312 pages


class _Blocks:
    """Collects paragraphs while the tree is walked; `<br>` splits lines within one."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.lines: list[str] = [""]
        self.first_h1: str | None = None

    def add_text(self, text: str) -> None:
        self.lines[-1] += text

    def line_break(self) -> None:
        self.lines.append("")

    def flush(self, heading_level: int = 0) -> None:
        lines = [_collapse(line) for line in self.lines]
        self.lines = [""]
        if heading_level:
            text = " ".join(line for line in lines if line)
            if text:
                self.first_h1 = self.first_h1 or (text if heading_level == 1 else None)
                self.done.append("#" * heading_level + " " + text)
            return
        text = "\n".join(line for line in lines if line)
        if text:
            self.done.append(text)

    def add_block(self, text: str) -> None:
        self.flush()
        if text.strip():
            self.done.append(text)


def _walk(root, blocks: _Blocks) -> None:
    """Depth-first walk without recursion (deeply nested pages exist)."""
    stack = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag
        if leaving:
            blocks.flush(_HEADINGS.get(tag, 0))
            continue
        if tag == "-text":
            blocks.add_text(node.text_content or "")
        elif tag == "br":
            blocks.line_break()
        elif tag.startswith("-") or _is_furniture(node):
            continue
        elif tag == "table":
            blocks.add_block(_table_text(node))
        elif tag == "pre":
            blocks.add_block(node.text(deep=True).strip("\n"))
        else:
            if tag in _BLOCK_TAGS or tag in _HEADINGS:
                blocks.flush()
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    blocks.flush()


def _is_furniture(node) -> bool:
    """Scripts, styles, menus, share bars, the site header and footer: not page content."""
    tag = node.tag
    attrs = node.attributes
    if tag in _DROP_TAGS or "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if (attrs.get("role") or "").lower() in _DROP_ROLES:
        return True
    if tag in _PAGE_FRAME and not _inside(node, {"article", "main"}):
        return True
    words = re.split(r"[\s_-]+", f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower())
    return any(word in _FURNITURE_WORDS for word in words)


def _inside(node, tags: set[str]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _table_text(table) -> str:
    """One line per row, cells joined by ' | '; nested tables fold into their cell."""
    rows = []
    for row in table.css("tr"):
        if _closest_table(row) != table.mem_id:
            continue
        cells = [_collapse(cell.text(deep=True)) for cell in row.iter()
                 if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _closest_table(node) -> int | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent.mem_id if parent is not None else None


def _collapse(text: str) -> str:
    """HTML whitespace rules, except that a line break between two CJK characters vanishes."""
    return _HTML_SPACE.sub(" ", _NEWLINE_BETWEEN_CJK.sub("", text)).strip()

