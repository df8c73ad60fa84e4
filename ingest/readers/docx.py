"""Word .docx (python-docx): paragraphs and tables in order, Heading styles as `#` lines."""

from __future__ import annotations

import io
import re
import zipfile

from ingest.readers.base import (MAX_DOCX_XML_MB, MAX_UNPACKED_MB, Extracted, Unreadable,
                                 too_big)
from ingest.readers.encoding import sniff_binary_kind

# English and Chinese Word name the built-in styles differently; python-docx reports either.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
_TITLE_STYLES = {"title", "标题"}


def read_docx(raw: bytes) -> Extracted:
    """Body paragraphs and tables of a .docx as text; the Title style gives the title."""
    document = open_docx(raw)
    blocks = list(body_blocks(document))
    has_title = any(_heading_level(b) == 0 for b in blocks if not _is_table(b))
    parts, title = [], None
    for block in blocks:
        if _is_table(block):
            parts.append(table_text(block))
            continue
        text = paragraph_text(block).strip()
        level = _heading_level(block)
        if not text:
            continue
        if level == 0:
            title = title or text
            parts.append("# " + text)
        elif level is not None:
            # Below a Title paragraph, "Heading 1" is a section: it takes `##`.
            parts.append("#" * min(level + has_title, 6) + " " + text)
        else:
            parts.append(text)
    title = title or (document.core_properties.title or "").strip() or None
    return Extracted("\n\n".join(p for p in parts if p), None, title)


def open_docx(raw: bytes):
    """A python-docx Document over `raw`, or Unreadable naming what the file really is."""
    from docx import Document

    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise Unreadable(
            "an old-format Word .doc (or a password-protected Word file) named .docx",
            "open it in Word/WPS, remove any password and save as .docx (Word 2007+), then add it")
    if not raw.startswith(b"PK"):
        kind = sniff_binary_kind(raw)
        raise Unreadable(f"not a .docx file ({'this is ' + kind if kind else 'not a ZIP package'})",
                         "save the document as .docx from Word/WPS, or give it its real extension")
    check_unpacked_size(raw)
    try:
        return Document(io.BytesIO(raw))
    except Exception as exc:  # zipfile, lxml and python-docx each raise their own types
        raise Unreadable(f"damaged .docx: python-docx cannot open it ({type(exc).__name__}: {exc})",
                         "open and re-save it in Word/WPS (or re-download it), then add it again") \
            from None


def check_unpacked_size(raw: bytes) -> None:
    """Refuse, from the zip's own directory and before unpacking a byte, a package whose parts
    unpack past the limits (zipfile never reads past a part's declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            parts = package.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable(f"damaged .docx: its ZIP directory cannot be read ({exc})",
                         "open and re-save it in Word/WPS (or re-download it), then add it "
                         "again") from None
    mb = 1024 * 1024
    xml = sum(p.file_size for p in parts if p.filename.endswith((".xml", ".rels"))) / mb
    total = sum(p.file_size for p in parts) / mb
    if xml > MAX_DOCX_XML_MB:
        raise too_big("the text of this .docx (its XML)", xml, MAX_DOCX_XML_MB)
    if total > MAX_UNPACKED_MB:
        raise too_big("this .docx", total, MAX_UNPACKED_MB)


def table_text(table) -> str:
    """One line per row, cells joined by ' | '; a merged cell is written once."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # python-docx repeats a horizontally merged cell
                continue
            seen.add(id(cell._tc))
            lines = "\n".join(paragraph_text(p) for p in cell.paragraphs).split("\n")
            cells.append(" ".join(line.strip() for line in lines if line.strip()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def body_blocks(document):
    """Paragraphs and tables of the body in order, including those inside content controls."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(element):
        for child in element.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                yield Paragraph(child, document)
            elif tag == "tbl":
                yield Table(child, document)
            elif tag in ("sdt", "sdtContent", "customXml"):
                yield from walk(child)  # cover pages and templates wrap text in these

    yield from walk(document.element.body)


def paragraph_text(paragraph) -> str:
    """Text of a paragraph, counting runs that python-docx's `.text` skips.

    Tracked insertions (w:ins), inline content controls (w:sdt), smart tags and simple fields
    hold visible text too; deleted text (w:del) is left out.
    """
    return "".join(element.text for element in paragraph._p.xpath(_VISIBLE_RUNS))


_VISIBLE_RUNS = ("./w:r | ./w:hyperlink | ./w:ins/w:r | ./w:smartTag/w:r | ./w:fldSimple/w:r"
                 " | ./w:customXml/w:r | ./w:sdt/w:sdtContent/w:r"
                 " | ./w:sdt/w:sdtContent/w:hyperlink")


def _heading_level(paragraph) -> int | None:
    """0 for the Title style, N for Heading N, None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.strip().lower() in _TITLE_STYLES:
        return 0
    match = _HEADING_STYLE.match(name.strip())
    return int(match.group(1)) if match else None


def _is_table(block) -> bool:
    return block.__class__.__name__ == "Table"
