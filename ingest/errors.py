"""Errors of the ingest layer: each names the file or setting at fault and the fix."""

from __future__ import annotations

from pathlib import Path

from cppcc_kb.errors import KBError


class IngestError(KBError):
    """Something about ingest or the store that a person must act on."""


class FileRejected(IngestError):
    """One input file cannot be ingested; the rest of the batch goes on."""

    def __init__(self, path: Path | str, reason: str, fix: str):
        self.path, self.reason, self.fix = str(path), reason, fix
        super().__init__(f"{self.path}: {reason} — {fix}")


class EmbedderError(IngestError):
    """The embedding model cannot be loaded, or does not match the store."""


class StoreLocked(IngestError):
    """Another ingest holds the knowledge base."""


class StoreUnavailable(IngestError):
    """The Chroma server (or the store folder) cannot be reached right now; nothing was changed,
    and the same request succeeds once it is back."""


class StoreServed(IngestError):
    """A running `cppcc-kb serve` holds this knowledge-base folder; another process must not
    write to it (its writes would not reach that server's index)."""
