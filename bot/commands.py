"""Member commands: ask."""

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
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, history: tuple[str, ...],
        doc_ids: tuple[str, ...], years: tuple[int, ...], top_k: int | None, mode: str | None):
    """Ask a question; prints the answer with its numbered sources."""
    from bot.chain import get_bot

    bot = get_bot(ctx.obj())
    filters = {"doc_ids": list(doc_ids), "years": list(years)}
    answer = bot.ask(question, history=list(history), filters=filters, top_k=top_k, mode=mode)
    if as_json:
        data = answer.to_dict()
        keep = ("n", "doc_id", "title", "source", "quote", "start", "end", "score")
        data["citations"] = [{k: c[k] for k in keep} for c in data["citations"]]
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    _print_answer(answer)


def _print_answer(answer) -> None:
    """The answer, any warning, then the numbered sources with their quotes."""
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
