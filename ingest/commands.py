"""Staff commands: ingest, list, remove, reset."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _settings(ctx: click.Context):
    return ctx.obj()


def _writer_settings(ctx: click.Context):
    """Settings for a command that writes: refused while a `serve` holds a local folder."""
    from ingest.lock import refuse_if_served

    settings = ctx.obj()
    if not settings.chroma_url:
        refuse_if_served(settings.data)
    return settings


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...]):
    """Add or update documents (files or folders); unchanged files are skipped.

    Supported: .txt .md .html .htm .pdf .docx. Exit code 1 when any file failed.
    """
    from ingest.pipeline import ingest_paths

    settings = _writer_settings(ctx)
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    summary = ingest_paths(list(paths), settings, progress=progress)
    if progress:
        progress.done()
    _print_summary(summary)
    if summary.failed:
        ctx.exit(1)


class _TerminalProgress:
    """One self-rewriting status line on a terminal; nothing at all when output is piped."""

    def __init__(self):
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, summary) -> None:
        elapsed = time.perf_counter() - self.started
        rate = summary.chunks / elapsed if elapsed > 0 else 0.0
        eta = (total - done) * elapsed / done if done else 0
        click.echo(f"\r  {done}/{total} files · {summary.chunks} chunks · {rate:.1f} chunks/s"
                   f" · ETA {eta:.0f}s   ", nl=False, err=True)

    def done(self) -> None:
        click.echo("", err=True)


def _print_summary(summary) -> None:
    for o in summary.outcomes:
        if o.status == "failed":
            click.echo(f"FAILED     {o.path}: {o.reason} — {o.fix}")
        elif o.status == "skipped":
            click.echo(f"skipped    {o.path}: {o.reason} ({o.fix})")
        elif o.status in ("added", "updated"):
            click.echo(f"{o.status:<10} {o.path} → {o.doc_id} ({o.chunks} chunks)")
    counts = ", ".join(f"{summary.count(s)} {s}" for s in
                       ("added", "updated", "unchanged", "failed", "skipped") if summary.count(s))
    click.echo(f"{counts or 'nothing to do'}; {summary.chunks} chunks in {summary.seconds:.1f}s")


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
@click.pass_context
def list_documents(ctx: click.Context, as_json: bool):
    """Show the documents in the knowledge base (id, title, date, chunks, source)."""
    import json

    from ingest.store import Store

    records = sorted(Store(_settings(ctx)).records(), key=lambda r: (r.title, r.doc_id))
    if as_json:
        for r in records:
            click.echo(json.dumps({"doc_id": r.doc_id, "title": r.title, "date": r.date,
                                   "chunks": r.chunks, "source": r.source}, ensure_ascii=False))
        return
    if not records:
        click.echo("The knowledge base is empty: add documents with `cppcc-kb ingest PATH`.")
        return
    for r in records:
        click.echo(f"{r.doc_id}  {r.date or '----------':<10}  {r.chunks:>5}  {r.title}  [{r.source}]")
    click.echo(f"{len(records)} documents, {sum(r.chunks for r in records)} chunks")


@click.command()
@click.argument("doc_ids", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, doc_ids: tuple[str, ...]):
    """Remove documents by id (see `cppcc-kb list`) or by exact source file name."""
    from ingest.documents import remove_documents

    settings = _writer_settings(ctx)
    removed, missing = remove_documents(settings, list(doc_ids))
    for r in removed:
        click.echo(f"removed    {r.doc_id}  {r.title}")
    for m in missing:
        click.echo(f"not found  {m} (see `cppcc-kb list`)", err=True)
    if missing:
        ctx.exit(1)


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def reset(ctx: click.Context, yes: bool):
    """Delete every document and index (for a rebuild with another embedder)."""
    from ingest.documents import reset_knowledge_base

    settings = _writer_settings(ctx)
    if not yes:
        click.confirm(f"Delete the whole knowledge base at {settings.chroma_url or settings.data}?",
                      abort=True)
    reset_knowledge_base(settings)
    click.echo("The knowledge base is empty.")


@click.command()
@click.argument("doc_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every document in the knowledge base.")
@click.pass_context
def reindex(ctx: click.Context, doc_ids: tuple[str, ...], everything: bool):
    """Split and embed documents again from their stored text (e.g. after an upgrade)."""
    from ingest.documents import reindex_documents
    from ingest.store import Store

    settings = _writer_settings(ctx)
    if everything == bool(doc_ids):
        raise click.UsageError("give document ids (see `cppcc-kb list`) or --all, not both")
    keys = [r.doc_id for r in Store(settings).records()] if everything else list(doc_ids)
    progress = _TerminalProgress() if sys.stderr.isatty() else None
    summary, missing = reindex_documents(settings, keys, progress=progress)
    if progress:
        progress.done()
    _print_summary(summary)
    for m in missing:
        click.echo(f"not found  {m} (see `cppcc-kb list`)", err=True)
    if missing or summary.failed:
        ctx.exit(1)


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.pass_context
def backup(ctx: click.Context, dest: Path):
    """Write the whole knowledge base to the new folder DEST (safe while `serve` runs)."""
    from ingest.backup import backup as write_backup

    manifest = write_backup(_settings(ctx), dest)
    click.echo(f"backed up {manifest['documents']} documents, {manifest['chunks']} chunks → "
               f"{dest}")


@click.command()
@click.argument("src", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.pass_context
def restore(ctx: click.Context, src: Path):
    """Fill an empty knowledge base from the backup folder SRC."""
    from ingest.backup import restore as read_backup

    settings = _settings(ctx)
    manifest = read_backup(settings, src)
    click.echo(f"restored {manifest['documents']} documents, {manifest['chunks']} chunks from "
               f"{src} into {settings.chroma_url or settings.data}")


@click.command()
@click.option("--repair", is_flag=True, help="Fix what is found (sweep, re-index, rebuild).")
@click.pass_context
def check(ctx: click.Context, repair: bool):
    """Check that Chroma, the keyword index and the records agree; exit 1 on a problem."""
    from ingest.check import check as run_check

    settings = _writer_settings(ctx) if repair else _settings(ctx)
    report = run_check(settings, repair=repair)
    for line in report.repaired:
        click.echo(f"repaired   {line}")
    for line in report.lines():
        click.echo(line)
    if report.ok:
        click.echo("OK: Chroma, the keyword index and the records agree.")
    else:
        click.echo("Problems found; run `cppcc-kb check --repair` to fix them.", err=True)
        ctx.exit(1)


@click.command()
@click.option("--doc", "doc_id", default=None, help="Only actions on this document id.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def audit(ctx: click.Context, doc_id: str | None, limit: int, as_json: bool):
    """Staff actions (add, update, remove, re-index, reset, restore), newest first, with who
    did them and, for a removal, the proof that nothing of the document can be retrieved."""
    import json
    from dataclasses import asdict
    from datetime import datetime

    from ingest.audit import AuditLog

    entries = AuditLog(_settings(ctx).audit_log).recent(limit, doc_id)
    for e in entries:
        if as_json:
            click.echo(json.dumps(asdict(e), ensure_ascii=False))
            continue
        when = datetime.fromtimestamp(e.at).strftime("%Y-%m-%d %H:%M:%S")
        what = f"{e.doc_id} 《{e.title}》" if e.doc_id else ""
        detail = e.detail or {}
        extra = ""
        if e.action == "remove":
            extra = ("  deletion proved: 0 chunks in Chroma, 0 keyword rows, none near its own "
                     "vector" if e.outcome == "proved" else
                     f"  DELETION NOT PROVED: {json.dumps(detail, ensure_ascii=False)}")
        elif detail.get("reason"):
            extra = f"  {detail['reason']}"
        click.echo(f"{when}  {e.actor:<18} {e.action:<8} {e.outcome:<10} {what}"
                   f"{f'  v{e.version}' if e.version else ''}{extra}")
    if not entries and not as_json:
        click.echo("No staff actions recorded yet.", err=True)
