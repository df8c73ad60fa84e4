"""The eval command: run a question set through the bot and report the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command(name="eval")
@click.argument("question_set", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Last line: the metrics as one JSON object.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None)
@click.pass_context
def eval_command(ctx: click.Context, question_set: Path, as_json: bool, mode: str | None):
    """Run a question set (JSONL) through the same chain as the chat; print metrics."""
    from bot.chain import get_bot
    from evals.metrics import METRIC_KEYS
    from evals.runner import run_set
    from evals.sets import load_set

    questions, problems = load_set(question_set)
    for p in problems:
        click.echo(f"{question_set}:{p.line}: skipped — {p.reason}", err=True)
    out = run_set(get_bot(ctx.obj()), questions, mode=mode)
    metrics = {k: out["metrics"][k] for k in METRIC_KEYS}
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False))
    else:
        for k, v in metrics.items():
            click.echo(f"{k:<20} {v}")
