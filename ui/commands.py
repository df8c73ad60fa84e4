"""The serve command: the members' chat and the staff desk in one process."""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from pathlib import Path

import click


@click.command()
@click.option("--host", default=None, help="Interface to listen on [env CPPCC_KB_HOST; 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port [env CPPCC_KB_PORT; 7860].")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None):
    """Run the chat (Gradio) and the API (FastAPI) in one process.

    On a fresh install (an empty knowledge base) the corpus folder (CPPCC_KB_CORPUS_DIR, by
    default the bundled corpus/) is ingested first; nothing is ingested when documents exist.
    """
    import uvicorn

    from bot.chain import get_bot
    from ingest.lock import serving_lease
    from ui.server import create_app

    started = time.perf_counter()
    settings = ctx.obj()
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    urls = listening_urls(settings.host, settings.port)
    lease = nullcontext() if settings.chroma_url else serving_lease(settings.data, urls[0])
    with lease:  # a second serve, or the CLI writing to this folder, is refused and told why
        click.echo(f"Knowledge base: {settings.chroma_url or settings.data}", err=True)
        if not settings.chroma_url:  # this process holds the folder: a killed run's leftovers go
            from ingest.check import sweep_at_start

            sweep_at_start(settings)
        bot = get_bot(settings)  # loads nothing heavy yet; refuses a store of another embedder
        if not bot.kb.records():
            ingest_first_corpus(bot, settings)
        if settings.staff_token is None:
            click.echo("Staff desk: off (set CPPCC_KB_STAFF_TOKEN to enable uploads and "
                       "deletes).", err=True)
        else:
            click.echo("Staff desk: on — the 工作人员 tab of the page and the /api staff "
                       "endpoints, with the token in CPPCC_KB_STAFF_TOKEN.", err=True)
        if not is_loopback(settings.host):
            click.secho(f"Warning: listening on {settings.host}, reachable from other machines: "
                        "anyone who can reach this port can ask questions"
                        + ("" if settings.staff_token is None else ", and the staff desk is "
                           "guarded only by CPPCC_KB_STAFF_TOKEN")
                        + "; serve on 127.0.0.1 behind an HTTPS proxy for real use.",
                        fg="yellow", err=True)
        click.echo("Loading the models (the first start on a machine also builds the question "
                   "encoder, about a minute)…", err=True)
        bot.kb.embedder.query_encoder()
        app = create_app(settings, bot)
        click.echo(f"Ready in {time.perf_counter() - started:.0f} s.", err=True)
        click.echo(f"政协知识库问答: {'  '.join(urls)}   (API: {urls[0]}api/docs)  — Ctrl+C to "
                   "stop", err=True)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from elsewhere


def listening_urls(host: str, port: int) -> list[str]:
    """Where the server can be reached: the host itself, or for 0.0.0.0 / :: the machine's own
    addresses (the first URL is the one other processes are told)."""
    import socket

    if host not in ("0.0.0.0", "::", ""):
        shown = f"[{host}]" if ":" in host else host
        return [f"http://{shown}:{port}/"]
    addresses = ["127.0.0.1"]
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            if info[4][0] not in addresses:
                addresses.append(info[4][0])
    except OSError:
        pass
    return [f"http://{a}:{port}/" for a in addresses]


def ingest_first_corpus(bot, settings) -> None:
    """Fill an empty knowledge base from the corpus folder, showing progress on stderr."""
    from ingest.pipeline import ingest_paths

    corpus = Path(settings.corpus_dir)
    if not corpus.is_dir():
        click.echo(f"The knowledge base is empty and the corpus folder {corpus} does not exist; "
                   "starting anyway — add documents on the staff desk or with "
                   "`cppcc-kb ingest PATH`.", err=True)
        return
    click.echo(f"The knowledge base is empty: ingesting {corpus} first "
               "(the embedding model loads on first use; this can take a few minutes)…", err=True)
    progress = _Progress(sys.stderr.isatty())
    summary = ingest_paths([corpus], settings, kb=bot.kb, progress=progress,
                           actor="serve:bundled corpus")
    progress.done()
    for o in summary.failed:
        click.echo(f"  FAILED {Path(o.path).name}: {o.reason} — {o.fix}", err=True)
    counts = ", ".join(f"{summary.count(s)} {s}" for s in ("added", "updated", "unchanged",
                                                            "failed") if summary.count(s))
    click.echo(f"Ingested {corpus}: {counts or 'no documents'}; {summary.chunks} chunks in "
               f"{summary.seconds:.1f}s", err=True)


class _Progress:
    """On a terminal one self-rewriting line; when piped (logs), one line per file."""

    def __init__(self, tty: bool):
        self.tty, self.started = tty, time.perf_counter()

    def __call__(self, done: int, total: int, summary) -> None:
        elapsed = time.perf_counter() - self.started
        eta = (total - done) * elapsed / done if done else 0
        line = (f"  {done}/{total} files · {summary.chunks} chunks · {elapsed:.0f}s"
                f" · ETA {eta:.0f}s")
        if self.tty:
            click.echo(f"\r{line}   ", nl=False, err=True)
        else:
            click.echo(line, err=True)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)
