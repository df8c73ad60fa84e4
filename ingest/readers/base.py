"""What every format reader returns, and how it says a file cannot be read."""

from __future__ import annotations

from dataclasses import dataclass


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
