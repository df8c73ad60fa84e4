"""The eval command: run a question set through the bot's one chain, report, save, compare.

    cppcc-kb eval SET.jsonl [--json] [--report DIR] [--save FILE] [--mode extractive|llm]
    cppcc-kb eval --compare A.json B.json [--json]

stdout carries the results (with --json its LAST line is the JSON object); stderr carries
skipped lines, progress (only when stderr is a terminal) and where files were written.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

WARM_UP_QUESTION = "政协的职能是什么？"


@click.command(name="eval")
@click.argument("question_set", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Last line on stdout: the metrics (or, with --compare, the comparison) as "
                   "one JSON object.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write an HTML report (index.html, PNG charts, results.json) into DIR.")
@click.option("--save", "save_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the full run (metrics and per-question rows) as JSON, for --compare.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default=None,
              help="Answer mode [default: the settings' mode].")
@click.option("--compare", nargs=2, default=None,
              type=click.Path(exists=True, path_type=Path), metavar="A.json B.json",
              help="Compare two saved runs (results.json files or report folders) instead of "
                   "running a set: which questions got better or worse.")
@click.pass_context
def eval_command(ctx: click.Context, question_set: Path | None, as_json: bool,
                 report_dir: Path | None, save_file: Path | None, mode: str | None,
                 compare: tuple[Path, Path] | None):
    """Run a question set (JSONL) through the same chain as the chat; print the metrics."""
    if compare:
        extra = [name for name, given in (("QUESTION_SET", question_set),
                                          ("--report", report_dir), ("--save", save_file),
                                          ("--mode", mode)) if given]
        if extra:
            raise click.UsageError(f"--compare reads two saved runs and runs nothing; drop "
                                   f"{', '.join(extra)} (or drop --compare to run a set)")
        _compare(*compare, as_json=as_json)
        return
    if question_set is None:
        raise click.UsageError("give a question set to run (cppcc-kb eval SET.jsonl), or two "
                               "saved runs to compare (cppcc-kb eval --compare A.json B.json)")
    _run(ctx, question_set, as_json, report_dir, save_file, mode)


def _run(ctx: click.Context, question_set: Path, as_json: bool, report_dir: Path | None,
         save_file: Path | None, mode: str | None) -> None:
    from evals.metrics import METRIC_KEYS
    from evals.sets import load_set

    # The set first: a broken or unreadable set is reported before any model loads.
    questions, problems = load_set(question_set)
    for p in problems:
        click.echo(f"{question_set}:{p.line}: skipped — {p.reason}", err=True)
    if problems:
        click.echo(f"{question_set}: {len(problems)} broken line(s) skipped, "
                   f"{len(questions)} question(s) to run", err=True)

    from bot.chain import get_bot
    from evals.runner import run_set

    settings = ctx.obj()
    tty = sys.stderr.isatty()
    started = datetime.now(timezone.utc).astimezone()
    clock = time.perf_counter()
    bot = get_bot(settings)
    if tty:
        click.echo("Loading the models…", err=True, nl=False)
    warmup_s = warm_up(bot, mode)
    progress = _Progress(len(questions)) if tty else None
    try:
        out = run_set(bot, questions, mode=mode, progress=progress.step if progress else None)
    finally:
        if progress:
            progress.done()
    run = {"set": question_set.name, "path": str(question_set),
           "mode": mode or settings.effective_mode,
           "started": started.isoformat(timespec="seconds"),
           "wall_s": round(time.perf_counter() - clock, 2), "warmup_s": warmup_s,
           "problems": [{"line": p.line, "reason": p.reason} for p in problems],
           "metrics": {k: out["metrics"][k] for k in METRIC_KEYS},
           "results": out["results"]}

    if save_file or report_dir:
        from evals.report import save_run, write_report

        if save_file:
            click.echo(f"Saved the run to {save_run(run, save_file)}", err=True)
        if report_dir:
            index = write_report(run, report_dir)
            click.echo(f"Wrote the report to {index} (run saved as {report_dir / 'results.json'})",
                       err=True)

    if as_json:
        click.echo(json.dumps(run["metrics"], ensure_ascii=False))
    else:
        _print_metrics(run)


def warm_up(bot, mode: str | None) -> float:
    """Ask one throwaway question so model loading is not counted as the first question's
    latency; seconds taken (the report shows them apart)."""
    from bot.errors import AnswerError

    clock = time.perf_counter()
    try:
        bot.ask(WARM_UP_QUESTION, mode=mode)
    except AnswerError:
        pass  # the run itself reports what is wrong, question by question
    return round(time.perf_counter() - clock, 2)


def _print_metrics(run: dict) -> None:
    from evals.compare import passed
    from evals.gate import check_gate, gate_for
    from evals.report import METRIC_INFO, fmt

    metrics = run["metrics"]
    click.echo(f"{run['set']} — {metrics['n']} questions, mode {run['mode']}, "
               f"{run['wall_s']:.1f} s (model loading {run['warmup_s']:.1f} s)")
    for key, value in metrics.items():
        click.echo(f"  {key:<20}{fmt(key, value):>12}   {METRIC_INFO[key][0]}")
    failed = [r["id"] for r in run["results"] if not passed(r)]
    if failed:
        click.echo(f"Failed ({len(failed)}): {', '.join(failed)}")
    if gate_for(run["set"]):
        breaches = check_gate(run["set"], metrics)
        click.echo("Gate: passed" if not breaches else "Gate: FAILED\n  " + "\n  ".join(breaches))


def _compare(a: Path, b: Path, as_json: bool) -> None:
    from evals.compare import compare_runs, format_comparison, load_run

    cmp = compare_runs(load_run(a), load_run(b))
    if as_json:
        summary = {"improved": [i["id"] for i in cmp["improved"]],
                   "regressed": [i["id"] for i in cmp["regressed"]],
                   "unchanged": [i["id"] for i in cmp["unchanged"]],
                   "only_a": [i["id"] for i in cmp["only_a"]],
                   "only_b": [i["id"] for i in cmp["only_b"]],
                   "deltas": cmp["deltas"], "sign_test": cmp["sign_test"]}
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"A = {a}\nB = {b}")
    for line in format_comparison(cmp):
        click.echo(line)


class _Progress:
    """One self-overwriting progress line on stderr (a terminal only)."""

    def __init__(self, total: int):
        self.total, self.started = total, time.perf_counter()

    def step(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        left = elapsed / done * (total - done) if done else 0
        width = 24
        bar = "#" * (width * done // total) + "-" * (width - width * done // total)
        click.echo(f"\r[{bar}] {done}/{total}  {elapsed:,.0f}s elapsed, ~{left:,.0f}s left ",
                   err=True, nl=False)

    def done(self) -> None:
        click.echo("\r" + " " * 72 + "\r", err=True, nl=False)
