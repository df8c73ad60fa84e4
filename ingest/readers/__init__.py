"""Read one file of any supported format into normalised text (interface; formats in modules).

The pipeline: path checks (before reading a byte) → bytes → format reader (decode, extract) →
`normalize_text` → `strip_chrome` (text formats) → refuse if no text is left. Every problem is a
`FileRejected` that names the file, the reason and the fix.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ingest.chrome import strip_chrome
from ingest.errors import FileRejected
from ingest.normalize import normalize_text
from ingest.readers.base import MAX_TEXT_CHARS, Extracted, Unreadable
from ingest.readers.docx import read_docx
from ingest.readers.html import read_html
from ingest.readers.pdf import read_pdf
from ingest.readers.text import markdown_title, read_text

FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
           ".pdf": "pdf", ".docx": "docx"}
SUPPORTED = tuple(FORMATS)
_CHROME_FORMATS = {"txt", "md", "html"}  # saved web pages; PDF and Word files have no page chrome
MIN_TEXT_CHARS = 2  # letters, digits or hanzi; anything less is not a document
_EMPTY_FIX = "check that the copy or export finished, then add the file with its content"


@dataclass
class ParsedFile:
    path: Path
    text: str  # normalised, page chrome removed; chunk offsets point into this text
    format: str  # txt | md | html | pdf | docx
    encoding: str | None = None
    title: str | None = None  # what the format itself says (HTML <title>/<h1>, DOCX, '# ')


def read_file(path: Path, max_bytes: int) -> ParsedFile:
    """Parse `path`, or raise FileRejected(path, reason, fix)."""
    path = Path(path)
    return parse_bytes(path, read_checked_bytes(path, max_bytes))


def read_checked_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a supported, regular, non-empty file within the size limit (checked first)."""
    size = _regular_file_size(path)
    format_of(path)  # an unsupported type is refused before its bytes are read
    if size > max_bytes:
        raise FileRejected(path, f"file too large: {_size(size)}, over the limit of "
                           f"{_size(max_bytes)}",
                           "split the document into smaller files, or raise the limit "
                           "(CPPCC_KB_MAX_FILE_MB)")
    if size == 0:
        raise FileRejected(path, "the file is empty (0 bytes)", _EMPTY_FIX)
    raw = _read_bytes(path)
    if raw.isspace():
        raise FileRejected(path, "the file is empty (only whitespace)", _EMPTY_FIX)
    return raw


def parse_bytes(path: Path, raw: bytes) -> ParsedFile:
    """Parse bytes already read from `path` (its suffix picks the format), or FileRejected."""
    fmt = format_of(path)
    try:
        extracted = _READERS[fmt](raw)
    except Unreadable as exc:
        raise FileRejected(path, exc.reason, exc.fix) from None
    if len(extracted.text) > MAX_TEXT_CHARS:
        raise FileRejected(path, f"the file holds {len(extracted.text):,} characters of text, "
                           f"over the limit of {MAX_TEXT_CHARS:,} for one document",
                           "split it into several documents (e.g. one per chapter or year)")
    text = clean_text(extracted.text, fmt)
    if not has_text(text):
        raise FileRejected(path, "no text left after reading: the file holds only whitespace, "
                           "markup or page chrome (menus, share buttons)",
                           "check that the file opens with its content; save the page or "
                           "document again with its body text")
    # A text page's headline may become a `# ` line only once its chrome is gone.
    title = normalize_text(extracted.title or "") or markdown_title(text)
    return ParsedFile(path, text, fmt, extracted.encoding, title or None)


def format_of(path: Path) -> str:
    """txt | md | html | pdf | docx for a supported file name, else FileRejected."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileRejected(path, f"unsupported file type {suffix or '(no extension)'}",
                           "convert it to .txt, .md, .html, .pdf or .docx (e.g. save a .doc or "
                           ".wps file as .docx) and add it again")
    return FORMATS[suffix]


def clean_text(text: str, fmt: str) -> str:
    """Normalised text, with page chrome removed from formats that can carry it."""
    text = normalize_text(text)
    return strip_chrome(text) if fmt in _CHROME_FORMATS else text


def has_text(text: str) -> bool:
    """At least a couple of letters, digits or hanzi: more than punctuation and markup."""
    count = 0
    for ch in text:
        count += ch.isalnum()
        if count >= MIN_TEXT_CHARS:
            return True
    return False


def _regular_file_size(path: Path) -> int:
    """The size of `path`; missing, folder or special file refused from stat, before reading."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileRejected(path, "file not found",
                           "check the path (moved, renamed or deleted?)") from None
    except PermissionError:
        raise FileRejected(path, "permission denied: the folder holding it cannot be read",
                           "give the ingest user read access to the folder") from None
    except OSError as exc:
        raise FileRejected(path, f"cannot read the file's details ({exc.strerror})",
                           "check the path and the disk") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRejected(path, "this is a folder, not a file",
                           "give the files inside it (or ingest the folder as a whole)")
    if not stat.S_ISREG(info.st_mode):
        raise FileRejected(path, "not a regular file (a device, pipe or socket)",
                           "copy the document to an ordinary file and add that")
    return info.st_size


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError:
        raise FileRejected(path, "permission denied: the file cannot be read",
                           f"give the ingest user read access (e.g. `chmod o+r '{path}'`)") \
            from None
    except OSError as exc:
        raise FileRejected(path, f"the file cannot be read ({exc.strerror or exc})",
                           "check the disk or network share, then try again") from None


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# The readers import pypdf, python-docx and selectolax inside their functions, so that
# `cppcc-kb --help` loads none of them.
_READERS: dict[str, Callable[[bytes], Extracted]] = {
    "txt": read_text, "md": read_text, "html": read_html, "pdf": read_pdf, "docx": read_docx,
}

__all__ = ["FileRejected", "ParsedFile", "SUPPORTED", "read_file", "read_checked_bytes",
           "parse_bytes", "format_of", "clean_text", "has_text"]
