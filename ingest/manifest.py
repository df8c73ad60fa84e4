"""Optional per-folder manifest (manifest.json): what the files themselves don't say."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.errors import IngestError

MANIFEST = "manifest.json"
FIELDS = ("title", "issuer", "date", "source", "kind")


def load_manifest(folder: Path) -> dict[str, dict]:
    """{file name: {title, issuer, date, source, kind}} from folder/manifest.json, if present."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IngestError(f"{path}: not valid JSON ({exc}); fix the file or remove it") from None
    entries = data.get("documents", data) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise IngestError(f'{path}: expected {{"documents": {{"FILE NAME": {{"title": ...}}}}}}')
    return {name: {k: v for k, v in (meta or {}).items() if k in FIELDS}
            for name, meta in entries.items()}
