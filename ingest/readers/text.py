"""Plain text and Markdown: decode, and take the title from a leading `# ` line."""

from __future__ import annotations

import re

from ingest.readers.base import Extracted
from ingest.readers.encoding import decode_text

_MD_TITLE = re.compile(r"^[ \t\u3000\ufeff]*#[ \t]+(\S.*?)[ \t#]*$")


def read_text(raw: bytes) -> Extracted:
    """A .txt or .md file as decoded text."""
    text, encoding = decode_text(raw)
    return Extracted(text, encoding, markdown_title(text))


def markdown_title(text: str) -> str | None:
    """The text of a `# ` heading on the first non-blank line, if there is one."""
    for line in text.splitlines():
        if line.strip():
            match = _MD_TITLE.match(line)
            return match.group(1).strip() if match else None
    return None
