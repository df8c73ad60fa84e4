"""What a chunk looks like to the indexes: the text both indexes see, and its Chroma metadata."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from ingest.splitter import HEADER_END, Chunk

# Bump when splitting or index text changes: every document is then re-indexed once.
PIPELINE_VERSION = "split-v3"


def content_version(raw: bytes) -> str:
    """Version id of a document: its bytes and the pipeline that indexed them."""
    return hashlib.sha256(PIPELINE_VERSION.encode() + b"\0" + raw).hexdigest()[:16]


def doc_id_for(name: str) -> str:
    """Stable id from the file name, so a changed file replaces its older self."""
    return "doc-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def index_text(chunk: Chunk, title: str) -> str:
    """The chunk with its context: title, section and article number are searchable too."""
    context = [title] if chunk.kind != "header" else []
    context += chunk.headings
    if chunk.article and not chunk.text.startswith(chunk.article):
        context.append(chunk.article)
    prefix = " ".join(c for c in context if c)
    return f"{prefix}\n{chunk.text}" if prefix else chunk.text


def chunk_metadata(chunk: Chunk, doc: dict) -> dict:
    """Flat metadata (Chroma takes scalars); doc-level fields repeat so filters need no join."""
    meta = {
        "doc_id": doc["doc_id"], "version": doc["version"], "title": doc["title"],
        "source": doc["source"], "year": int(doc.get("year") or 0), "date": doc.get("date", ""),
        "doc_kind": doc.get("kind", ""), "position": chunk.position, "start": chunk.start,
        "end": chunk.end, "headings": chunk.heading_path, "kind": chunk.kind,
        "article": chunk.article or "",
    }
    return meta


_YEAR_MENTION = re.compile(r"((?:19|20)\d{2})年")


def years_covered(text: str, year: int, kind: str = "", min_mentions: int = 2) -> list[int]:
    """The years a document is about. A law is about its version's year; a news piece or a
    report about the years its text keeps returning to (a 2026 article on 2025's work is about
    2025), its own date only when the text names no year twice."""
    if kind == "law":
        return [year] if year else []
    counts = Counter(int(y) for y in _YEAR_MENTION.findall(text.split(HEADER_END)[-1]))
    years = {y for y, n in counts.items() if n >= min_mentions}
    if not years and year:
        years.add(year)
    return sorted(years)
