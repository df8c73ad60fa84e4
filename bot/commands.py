"""Member commands: ask; the question log's export."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--history", multiple=True, help="An earlier question of the conversation "
              "(repeat for several, oldest first).")
@click.option("--doc", "doc_ids", multiple=True, help="Only this document id (repeatable).")
@click.option("--year", "years", multiple=True, type=int, help="Only documents about this year.")
@click.option("--top-k", type=click.IntRange(1, 20), default=None, help="Sources to show.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None,
              help="Answer by extraction (offline) or with the configured LLM.")
@click.option("--log", "log", is_flag=True, help="Record the question in the question log "
              "(as the chat and the API always do).")
@click.option("--local", is_flag=True, help="Answer in this process even when `cppcc-kb serve` "
              "runs over the same folder (by default the running server answers: no model "
              "loading, the answer in well under a second).")
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, history: tuple[str, ...],
        doc_ids: tuple[str, ...], years: tuple[int, ...], top_k: int | None, mode: str | None,
        log: bool, local: bool):
    """Ask a question; prints the answer with its numbered sources."""
    settings = ctx.obj()
    filters = {"doc_ids": list(doc_ids), "years": list(years)}
    args = {"question": question, "history": list(history), "filters": filters, "top_k": top_k,
            "mode": mode}
    answer = None if local else _ask_running_server(settings, args, log)
    if answer is None:
        from bot.chain import get_bot

        bot = get_bot(settings)
        answer = bot.ask(**args, log="cli" if log else "")
        if log and not bot.questions.flush():
            click.secho(f"未能写入问题记录：{bot.questions.problem()}", fg="yellow", err=True)
    if as_json:
        data = answer.to_dict()
        keep = ("n", "doc_id", "title", "source", "quote", "start", "end", "score")
        data["citations"] = [{k: c[k] for k in keep} for c in data["citations"]]
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    _print_answer(answer)


def _ask_running_server(settings, args: dict, log: bool):
    """The answer of the `serve` that holds this folder (it has the models loaded), or None
    when none runs or it cannot be reached (then this process answers)."""
    if settings.chroma_url:
        return None
    from ingest.lock import serving_url

    url = serving_url(settings.data)
    if not url:
        return None
    import httpx

    from bot.answer import Answer, Citation
    from bot.errors import QuestionError

    body = {k: v for k, v in args.items() if v is not None}
    body["log"] = log
    if not any(body["filters"].values()):
        body.pop("filters")
    try:
        resp = httpx.post(f"{url.rstrip('/')}/api/ask", json=body, timeout=120, trust_env=False,
                          headers={"X-Cppcc-Kb-Client": "cli"})
    except httpx.HTTPError as exc:
        click.secho(f"（{url} 没有回应（{exc}），改在本进程中回答）", fg="yellow", err=True)
        return None
    if resp.status_code in (400, 413, 422):
        raise QuestionError(resp.json().get("detail", resp.text))
    if resp.status_code != 200:
        click.secho(f"（{url} 回答出错（HTTP {resp.status_code}），改在本进程中回答）",
                    fg="yellow", err=True)
        return None
    data = resp.json()
    data["citations"] = [Citation(**c) for c in data.get("citations", [])]
    return Answer(**data)


def _print_answer(answer) -> None:
    """The answer, any warning, then the numbered sources with their quotes (or, beside a
    refusal for doubt, the closest passages)."""
    from bot.plain import closest_text

    click.echo(answer.answer)
    if answer.note:
        click.secho(f"（{answer.note}）", fg="yellow")
    if not answer.verified:  # a rejected LLM draft's figures are in the note, not here
        click.secho(f"未核实：{'、'.join(answer.unverified_figures) or '回答未能与资料核对'}",
                    fg="red")
    if answer.citations:
        click.echo("\n来源：")
    for c in answer.citations:
        where = " · ".join(x for x in (c.heading, c.date) if x)
        click.echo(f"[{c.n}] 《{c.title}》{f' {where}' if where else ''} — {c.source}")
        click.echo(f"    “{c.quote}”")
    if answer.closest:
        click.echo("\n" + closest_text(answer.closest))


@click.group("log")
def log_group():
    """The question log: what members asked, what they got, their feedback."""


@log_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl",
              show_default=True)
@click.option("--since", default=None, metavar="YYYY-MM-DD",
              help="Only questions asked on or after this day (local time).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
@click.pass_context
def log_export(ctx: click.Context, fmt: str, since: str | None, output: str | None):
    """Export the question log, oldest first (one row per question asked)."""
    from datetime import datetime

    from bot.questionlog import QuestionLog

    settings = ctx.obj()
    start = 0.0
    if since:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").timestamp()
        except ValueError:
            raise click.BadParameter(f"{since!r} is not a day; write it as 2026-01-31",
                                     param_hint="--since") from None
    pieces = QuestionLog(settings.question_log).export(fmt, since=start)
    if output is None:
        for piece in pieces:
            click.echo(piece, nl=False)
        return
    import os
    from pathlib import Path

    target = Path(output)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            rows = 0
            for piece in pieces:
                out.write(piece)
                rows += 1
        os.replace(tmp, target)  # a half-written export never stands in for the file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    count = rows - 1 if fmt == "csv" else rows
    click.echo(f"{count} questions written to {target}", err=True)


@click.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "streamable-http"]), default="stdio",
              show_default=True, help="stdio: the MCP client starts this command itself; "
              "streamable-http: serve MCP over HTTP at --host/--port (path /mcp).")
@click.option("--host", default=None, help="For streamable-http (default CPPCC_KB_HOST).")
@click.option("--port", type=int, default=None, help="For streamable-http (default 8765).")
@click.pass_context
def mcp_command(ctx: click.Context, transport: str, host: str | None, port: int | None):
    """Serve the knowledge base to MCP clients: tools ask, search, list_documents and each
    document's text as a resource."""
    import contextlib
    import sys

    from bot.chain import get_bot
    from bot.mcp_server import build_mcp

    settings = ctx.obj()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the protocol, nothing else
        bot = get_bot(settings)
        bot.kb.embedder.query_encoder()  # load now: the first tool call is not the slow one
    server = build_mcp(bot)
    if transport == "stdio":
        click.echo(f"cppcc-kb MCP server over stdio, knowledge base {settings.data}", err=True)
        server.run("stdio")
    else:
        where = (host or settings.host, port or 8765)
        click.echo(f"cppcc-kb MCP server at http://{where[0]}:{where[1]}/mcp", err=True)
        server.run("streamable-http", host=where[0], port=where[1])
