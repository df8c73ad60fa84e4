"""PDF text layer (pypdf): open, refuse what cannot be read, re-join lines the layout wrapped."""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter

from ingest.readers.base import MAX_PDF_PAGES, Extracted, Unreadable
from ingest.readers.encoding import sniff_binary_kind

MIN_CHARS_PER_PAGE = 5  # below this on average the "text layer" is stray marks, not a document
FULL_LINE_SHARE = 0.85  # a line this close to the usual width was wrapped, not ended
MIN_WRAP_WIDTH = 40  # columns; shorter "full" lines are lists or tables, never re-joined

_CN_DIGITS = "零〇一二三四五六七八九十百千两"
_ENDS_PARAGRAPH = re.compile(r"[。！？!?；;：:…][”’」』）)]*$")
_STARTS_BLOCK = re.compile(
    rf"^(#|第[{_CN_DIGITS}\d]+[条章节编](?=[\s\u3000]|$)|[{_CN_DIGITS}]+、"
    rf"|[（(][{_CN_DIGITS}\d]+[）)]|\d+[、.．](?!\d)|[•●○■□◆◇▪]|[-–—*]\s)")
_PAGE_NUMBER = re.compile(
    r"^([-–—\s]*\d{1,4}[-–—\s]*|第\s*\d+\s*页.{0,8}|\d+\s*/\s*\d+|page\s+\d+(\s+of\s+\d+)?)$",
    re.I)
_JUNK_TITLES = {"untitled", "anonymous", "(anonymous)", "unspecified", "(unspecified)",
                "无标题", "title"}


def read_pdf(raw: bytes) -> Extracted:
    """Text of a PDF's text layer, paragraphs re-joined; refuses encrypted and scanned files."""
    reader = open_pdf(raw)
    pages = _page_texts(reader)
    chars = sum(ch.isalnum() for page in pages for ch in page)
    if chars < MIN_CHARS_PER_PAGE * max(len(pages), 1):
        raise Unreadable(
            f"扫描件 / scanned PDF: no text layer ({chars} characters of text on "
            f"{len(pages)} page(s); the pages are images)",
            "run OCR first (e.g. `ocrmypdf --language chi_sim in.pdf out.pdf`, or export a text "
            "PDF/Word file from the original), then add the OCR'd file")
    lines = _drop_page_furniture([page.split("\n") for page in pages])
    return Extracted(join_wrapped_lines(lines), None, _pdf_title(reader))


def open_pdf(raw: bytes):
    """A pypdf reader over `raw`, decrypted if an empty password opens it, else Unreadable."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    if b"%PDF-" not in raw[:1024]:
        kind = sniff_binary_kind(raw)
        raise Unreadable(f"not a PDF: {'this is ' + kind if kind else 'no %PDF- header'}",
                         "check the file; give it the extension of its real format")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise Unreadable(
                "encrypted PDF: it cannot be opened without a password",
                "open it with the password and save an unprotected copy (or ask the sender for "
                "one), then add that copy")
        pages = len(reader.pages)  # walks the page tree: a damaged one fails here, not later
        if pages > MAX_PDF_PAGES:
            raise Unreadable(f"the PDF has {pages} pages, over the limit of {MAX_PDF_PAGES}",
                             "split it into smaller PDFs (e.g. one per volume), then add those")
    except Unreadable:
        raise
    except DependencyError as exc:
        raise Unreadable(f"encrypted PDF that needs an extra package to decrypt ({exc})",
                         "save an unprotected copy of the PDF, or `pip install cryptography`") \
            from None
    except Exception as exc:  # pypdf signals damage with many exception types
        raise _corrupt(exc) from None
    return reader


def _opens_without_password(reader) -> bool:
    # Many "encrypted" PDFs only restrict printing/copying: the empty user password opens them.
    from pypdf import PasswordType

    return reader.decrypt("") != PasswordType.NOT_DECRYPTED


def _page_texts(reader) -> list[str]:
    from pypdf.errors import LimitReachedError

    texts = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except LimitReachedError as exc:  # pypdf's own bound on one stream's unpacked size
            raise Unreadable(f"解压后超过 pypdf 的上限 / page {number} unpacks past pypdf's "
                             f"limit ({exc}): a damaged PDF or a decompression bomb",
                             "re-export the PDF from its original, or print it to a new PDF, "
                             "then add that") from None
        except Exception as exc:  # one damaged page: refuse rather than ingest a hole
            raise Unreadable(f"damaged PDF: page {number} cannot be read "
                             f"({type(exc).__name__}: {exc})",
                             "re-export or re-download the PDF, or print it to a new PDF") \
                from None
    return texts


def _corrupt(exc: Exception) -> Unreadable:
    return Unreadable(f"damaged or truncated PDF: pypdf cannot open it "
                      f"({type(exc).__name__}: {exc})",
                      "re-download or re-export the PDF (check it opens in a PDF viewer), "
                      "then add it again")


def _pdf_title(reader) -> str | None:
    """The document-information title, unless it is a generator's placeholder or a file name."""
    try:
        title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:  # a damaged info dictionary only costs the title
        return None
    if not title or title.lower() in _JUNK_TITLES:
        return None
    if title.startswith("Microsoft Word - ") or re.search(r"\.(docx?|wps|pdf|txt)$", title, re.I):
        return None
    return title


def _drop_page_furniture(pages: list[list[str]]) -> list[str]:
    """All lines in order, minus page numbers and running headers/footers at page edges."""
    pages = [[line.strip() for line in page if line.strip()] for page in pages]
    edges = Counter(line for page in pages if page for line in {page[0], page[-1]})
    repeated = {line for line, n in edges.items() if n >= 3 and n >= len(pages) / 2}
    lines: list[str] = []
    for page in pages:
        edge = {0, len(page) - 1}
        lines.extend(line for i, line in enumerate(page)
                     if not (i in edge and (_PAGE_NUMBER.match(line) or line in repeated)))
    return lines


def join_wrapped_lines(lines: list[str]) -> str:
    """Re-join lines the layout wrapped mid-paragraph; paragraphs are separated by a blank line."""
    lines = [line.strip() for line in lines]
    widths = sorted(display_width(line) for line in lines if line)
    full = widths[int(0.9 * (len(widths) - 1))] if widths else 0
    paragraphs: list[str] = []
    previous = ""
    for line in lines:
        if not line:
            previous = ""
            continue
        if previous and continues(previous, line, full):
            paragraphs[-1] += joiner(previous, line) + line
        else:
            paragraphs.append(line)
        previous = line
    return "\n\n".join(paragraphs)


def continues(previous: str, line: str, full_width: int) -> bool:
    """Does `line` carry on the paragraph `previous` ends? (It was wrapped, not ended.)"""
    if _ENDS_PARAGRAPH.search(previous) or _STARTS_BLOCK.match(line):
        return False
    width = display_width(previous)
    return width >= MIN_WRAP_WIDTH and width >= FULL_LINE_SHARE * full_width


def joiner(previous: str, line: str) -> str:
    """What goes between two halves of a wrapped line: nothing next to CJK, else one space."""
    if _is_wide(previous[-1]) or _is_wide(line[0]):
        return ""  # Chinese has no spaces between words, so the wrap hid none
    if previous.endswith("-") and previous[-2:-1].isalpha():
        return ""  # keep the hyphen: it may be a real one (e.g. "co-operation")
    return " "


def display_width(text: str) -> int:
    """Columns the text takes: CJK and full-width characters count two."""
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")
