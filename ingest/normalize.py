"""Text normalisation shared by every reader: line ends, invisible characters, indentation.

Only layout changes: the characters of the text are kept as they are (no NFKC, no width
folding), because stored text is quoted verbatim in citations.
"""

from __future__ import annotations

import re

# Zero-width characters and the BOM carry no text; a BOM can survive mid-file when files are
# concatenated. Form feed, vertical tab and the Unicode line/paragraph separators are line ends.
_DROP = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_LINE_BREAKS = dict.fromkeys(map(ord, "\x0b\x0c\u2028\u2029\x85"), "\n")
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Normalise line ends, invisible characters, indentation and blank lines; keep characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_DROP).translate(_LINE_BREAKS).replace("\u00a0", " ")
    # str.strip() covers ASCII blanks, the ideographic space U+3000 and other Unicode spaces.
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
