"""What every format reader returns, and how it says a file cannot be read."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds on what a reader unpacks, whatever the file's own size: a 3 MB .docx can hold 3 GiB.
# With them, reading one file stays under about 1 GB of memory (measured: tests/ingest/
# test_readers.py::test_zip_bomb_docx_is_refused_before_it_is_unpacked).
MAX_UNPACKED_MB = 200  # all parts of a .docx together, media included
MAX_DOCX_XML_MB = 32  # its XML parts: lxml holds about ten times this while parsing
MAX_PDF_PAGES = 5000
# A web page's markup, and how deep its tags nest, are bounded before it is parsed: lexbor holds
# about 40 times the markup while parsing (a 45 MB page of small tags peaked at 1.9 GB and took
# 48 s), and its time grows with the square of the nesting (20,000 levels 0.7 s, 50,000 3.5 s,
# 2,000,000 — a 22 MB file — had not finished after 12 minutes). Measured with these bounds:
# tests/ingest/test_readers.py::test_a_web_page_is_read_within_its_memory_bound.
MAX_HTML_MB = 10
MAX_HTML_DEPTH = 5_000
MAX_TEXT_CHARS = 10_000_000  # text taken from one file (a long law holds about 100,000)


@dataclass
class Extracted:
    """Raw text pulled out of one file, before normalisation and chrome removal."""

    text: str
    encoding: str | None = None
    title: str | None = None


class Unreadable(Exception):
    """The bytes cannot become text; `read_file` turns this into FileRejected with the path."""

    def __init__(self, reason: str, fix: str):
        self.reason, self.fix = reason, fix
        super().__init__(f"{reason} — {fix}")


def too_big(what: str, size_mb: float, limit_mb: float) -> Unreadable:
    return Unreadable(
        f"解压后超过 {limit_mb:g} MB / {what} unpacks to {size_mb:,.0f} MB, over the limit of "
        f"{limit_mb:g} MB: such a file is damaged, a decompression bomb, or a collection that "
        "belongs in several files",
        "if it is a real document, save it again from Word/WPS (without embedded media) or "
        "split it into smaller files, then add those")
