"""Benchmarks: speed and memory, always beside a plain LangChain baseline.

    cppcc-kb bench ingest   [--corpus PATH ...] [--limit N] [--data DIR] [--skip-baseline] [--versus REF]
    cppcc-kb bench query    [--data DIR] [--questions SET ...] [--runs N] [--http] [--versus REF]
    cppcc-kb bench scale    [--data DIR ...] [--results FILE ...] [--png FILE]
    cppcc-kb bench splitter [--limit N] [--splitter NAME ...]

Tables go to stdout, progress to stderr. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click

from cppcc_kb.settings import PROJECT_ROOT

SHARED = PROJECT_ROOT.parent / "shared"
DEFAULT_CORPORA = (SHARED / "corpus", SHARED / "scale" / "laws")
DEFAULT_SETS = (SHARED / "evals" / "seed_dev.jsonl", SHARED / "evals" / "policy_dev.jsonl",
                PROJECT_ROOT / "evals" / "sets" / "cppcc_dev.jsonl")


def _machine() -> str:
    import os
    import platform

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M:%S')} · {platform.node()} · {os.cpu_count()} CPUs · "
            f"load avg {load}")


def _empty_or_new(path: Path, what: str) -> None:
    if path.exists() and any(path.iterdir()):
        raise click.UsageError(f"{what} {path} is not empty; give a new folder (the benchmark "
                               "measures a first ingest) or remove it")


@click.group()
def bench():
    """Measure ingest and query speed against a plain LangChain baseline."""


@bench.command(name="ingest")
@click.option("--corpus", "corpora", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Folder to ingest (repeatable) [default: ../shared/corpus and "
                   "../shared/scale/laws]; several go into the same knowledge base, in order.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N documents of each corpus (quick runs).")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="New folder for our knowledge base (kept); the baseline's Chroma goes to "
                   "DIR-langchain. Default: a temporary folder, deleted afterwards.")
@click.option("--skip-baseline", is_flag=True, help="Only the project's pipeline.")
@click.option("--skip-ours", is_flag=True, help="Only the baseline (e.g. to finish a long run).")
@click.option("--torch-threads", type=click.IntRange(min=1), default=None,
              help="Benchmark knob: torch threads in the measured processes (default: what "
                   "the embedder sets, one per CPU).")
@click.option("--versus", metavar="COMMIT", default=None,
              help="Also ingest each corpus with the code of this git commit (its cppcc_kb, "
                   "ingest, bot and ui), in the same run, into a folder of its own.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Append each measured row to this JSONL file as it finishes.")
@click.pass_context
def ingest_command(ctx: click.Context, corpora: tuple[Path, ...], limit: int | None,
                   data: Path | None, skip_baseline: bool, skip_ours: bool,
                   torch_threads: int | None, versus: str | None, json_out: Path | None):
    """Ingest speed and memory: ours (with an unchanged re-ingest) beside plain LangChain."""
    from bench.ingest_bench import baseline_dir, bench_ingest, table
    from bench.rss import SnapshotError, stop_on_sigterm

    stop_on_sigterm()
    settings = ctx.obj()
    corpora = corpora or tuple(c for c in DEFAULT_CORPORA if c.exists())
    if not corpora:
        raise click.UsageError("no corpus: pass --corpus PATH")
    tmp = None
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="cppcc-bench-ingest-")
        data = Path(tmp.name) / "kb"
    else:
        data = data.resolve()
        if not skip_ours:
            _empty_or_new(data, "--data")
        if not skip_baseline:
            _empty_or_new(baseline_dir(data), "the baseline folder")
    click.echo(f"# bench ingest · {_machine()}")
    click.echo(f"# corpora: {', '.join(str(c) for c in corpora)} · limit: {limit or 'all'} · "
               f"data: {data} · baseline: {baseline_dir(data)}")
    try:
        rows = bench_ingest([c.resolve() for c in corpora], data, settings, limit=limit,
                            skip_baseline=skip_baseline, skip_ours=skip_ours,
                            json_out=json_out, torch_threads=torch_threads, versus=versus,
                            echo=lambda m: click.echo(m, err=True))
        click.echo(table(rows))
        click.echo(f"# finished · {_machine()}")
    except SnapshotError as exc:
        raise click.UsageError(f"--versus: {exc}") from exc
    finally:
        if tmp is not None:
            tmp.cleanup()


def _asked_questions(command):
    """The options of the commands that ask question sets: which sets, how often, how many."""
    for option in reversed((
            click.option("--questions", "sets", multiple=True,
                         type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         help="Question set JSONL (repeatable) [default: the shared dev sets "
                              "+ evals/sets/cppcc_dev.jsonl]."),
            click.option("--runs", type=click.IntRange(min=1), default=None,
                         help="Passes over the questions [default: enough for ≥200 samples]."),
            click.option("--limit", type=click.IntRange(min=1), default=None,
                         help="Only the first N questions (quick runs)."))):
        command = option(command)
    return command


def _filled_baseline(settings, data: Path, base: Path) -> None:
    """Fill DIR-langchain with our chunks and their stored vectors (no re-embedding)."""
    from bench.baseline import copy_from_ours

    copied = copy_from_ours(settings.model_copy(update={"data": data, "chroma_url": None}), base)
    click.echo(f"# baseline: {copied} of our chunks copied with their vectors into {base}")


@bench.command(name="query")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Knowledge base to query [default: the global --data]; the "
                                 "baseline is read from DIR-langchain when present.")
@_asked_questions
@click.option("--http", is_flag=True, help="Also through real HTTP against the FastAPI app.")
@click.option("--skip-baseline", is_flag=True, help="Skip the LangChain retriever timing.")
@click.option("--baseline-from-ours", is_flag=True,
              help="When DIR-langchain is absent, fill it with our chunks and their stored "
                   "vectors (no re-embedding) to time the plain retriever at that size.")
@click.option("--profile/--no-profile", default=True,
              help="cProfile the slowest question once and print its top functions.")
@click.option("--torch-threads", type=click.IntRange(min=1), default=None,
              help="Benchmark knob: torch threads in the measured processes (default: what "
                   "the embedder sets, one per CPU).")
@click.option("--chroma-url", default=None, metavar="URL",
              help="Read the store from this Chroma server (`chroma run`, 127.0.0.1 only): "
                   "with --http, two `serve` of it are measured side by side; --data then is "
                   "a folder for their keyword indexes and logs.")
@click.option("--versus", metavar="COMMIT", default=None,
              help="Also measure the answering code of this git commit (its cppcc_kb, ingest, "
                   "bot and ui) in the same run, over a copy of the knowledge base: in-process, "
                   "and with --http its server asked in turn with this code's.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write all results as one JSON file.")
@click.pass_context
def query_command(ctx: click.Context, data: Path | None, sets: tuple[Path, ...],
                  runs: int | None, limit: int | None, http: bool, skip_baseline: bool,
                  baseline_from_ours: bool, profile: bool, torch_threads: int | None,
                  chroma_url: str | None, versus: str | None, json_out: Path | None):
    """Answer latency (p50/p95/mean, per stage) in extractive mode, beside the baseline."""
    from bench.ingest_bench import baseline_dir
    from bench.query_bench import bench_query, report
    from bench.rss import SnapshotError, stop_on_sigterm

    stop_on_sigterm()
    settings = ctx.obj()
    data = (data or settings.data).resolve()
    if chroma_url and versus:
        raise click.UsageError("--versus measures over a copy of a folder's knowledge base; "
                               "it does not combine with --chroma-url")
    if chroma_url:
        from urllib.parse import urlparse

        if urlparse(chroma_url).hostname not in ("127.0.0.1", "localhost"):
            raise click.UsageError("--chroma-url: benchmarks run against 127.0.0.1 only")
    elif not (data / "chroma").exists():
        raise click.UsageError(f"{data} holds no knowledge base; build one with "
                               f"`cppcc-kb bench ingest --data {data}` or `cppcc-kb ingest`")
    sets = sets or tuple(s for s in DEFAULT_SETS if s.exists())
    base = baseline_dir(data)
    if baseline_from_ours and not skip_baseline and not base.exists():
        _filled_baseline(settings, data, base)
    click.echo(f"# bench query · {_machine()}")
    click.echo(f"# data: {data} · baseline: {base if base.exists() else 'absent'} · sets: "
               f"{', '.join(s.name for s in sets)}")
    try:
        results = bench_query(data, list(sets), settings, runs=runs, limit=limit, http=http,
                              baseline=None if skip_baseline or not base.exists() else base,
                              profile=profile, torch_threads=torch_threads,
                              chroma_url=chroma_url, versus=versus,
                              echo=lambda m: click.echo(m, err=True))
    except SnapshotError as exc:
        raise click.UsageError(f"--versus: {exc}") from exc
    click.echo(report(results))
    click.echo(f"# finished · {_machine()}")
    if json_out:
        json_out.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")


@bench.command(name="scale")
@click.option("--data", "datas", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Knowledge bases of growing size (repeatable), e.g. the shared corpus, ten "
                   "times it, the full scale corpus; DIR-langchain beside one adds the baseline.")
@click.option("--results", "saved", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also chart an earlier run: the file `bench query --http --json FILE` "
                   "wrote (repeatable), so a long run at full scale is not measured again.")
@_asked_questions
@click.option("--baseline-from-ours", is_flag=True,
              help="Where DIR-langchain is absent, fill it with our chunks and their stored "
                   "vectors (no re-embedding), so every size has the baseline beside it.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("bench-scale.png"), show_default=True, help="The chart.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write all results as one JSON file.")
@click.pass_context
def scale_command(ctx: click.Context, datas: tuple[Path, ...], saved: tuple[Path, ...],
                  sets: tuple[Path, ...], runs: int | None, limit: int | None,
                  baseline_from_ours: bool, png: Path, json_out: Path | None):
    """Latency and memory against corpus size: `bench query --http` per knowledge base, one PNG."""
    from bench.ingest_bench import baseline_dir
    from bench.query_bench import bench_query, report
    from bench.rss import stop_on_sigterm
    from bench.scale_bench import ScaleError, load_results, plot, scale_rows, table

    if not datas and not saved:
        raise click.UsageError("give knowledge bases to measure (--data DIR) or earlier runs "
                               "to chart (--results FILE)")
    try:
        results = [load_results(path) for path in saved]
    except ScaleError as exc:
        raise click.UsageError(str(exc)) from exc
    stop_on_sigterm()
    settings = ctx.obj()
    sets = sets or tuple(s for s in DEFAULT_SETS if s.exists())
    click.echo(f"# bench scale · {_machine()}")
    for path, result in zip(saved, results):
        click.echo(f"# results: {path} · data: {result['data']} · measured code "
                   f"{result.get('code', '?')}")
    for data in (d.resolve() for d in datas):
        if not (data / "chroma").exists():
            raise click.UsageError(f"{data} holds no knowledge base")
        base = baseline_dir(data)
        if baseline_from_ours and not base.exists():
            _filled_baseline(settings, data, base)
        click.echo(f"# data: {data} · baseline: {base if base.exists() else 'absent'}")
        results.append(bench_query(data, list(sets), settings, runs=runs, limit=limit, http=True,
                                   baseline=base if base.exists() else None, profile=False,
                                   echo=lambda m: click.echo(m, err=True)))
        click.echo(report(results[-1]))
    rows = scale_rows(results)
    click.echo(table(rows))
    click.echo(f"# chart: {plot(rows, png, f'cppcc-kb bench scale · {_machine()}')}")
    click.echo(f"# finished · {_machine()}")
    if json_out:
        json_out.write_text(json.dumps({"rows": rows, "results": results}, ensure_ascii=False,
                                       indent=1), "utf-8")


@bench.command(name="splitter")
@click.option("--corpus", type=click.Path(exists=True, path_type=Path), default=None,
              help="Corpus to build each knowledge base from [default: ../shared/corpus].")
@click.option("--questions", "sets", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Question sets [default: the shared dev sets + evals/sets/cppcc_dev.jsonl].")
@click.option("--splitter", "names", multiple=True,
              help="Only these splitters (repeatable), e.g. ours-300, lc-500-50, plain-lc-500-50.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N documents of the corpus (quick runs).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              default=Path(tempfile.gettempdir()) / "cppcc-bench-cache" / "splitter",
              show_default=True, help="Built knowledge bases are kept here for reruns.")
@click.option("--answers", is_flag=True,
              help="Also run the whole extractive bot per splitter (answer accuracy).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the rows as one JSON file.")
@click.pass_context
def splitter_command(ctx: click.Context, corpus: Path | None, sets: tuple[Path, ...],
                     names: tuple[str, ...], limit: int | None, cache: Path, answers: bool,
                     json_out: Path | None):
    """Retrieval quality per splitter (ours at several sizes vs RecursiveCharacterTextSplitter)."""
    from bench.splitter_bench import SPLITTERS, bench_splitters, table

    settings = ctx.obj()
    corpus = (corpus or SHARED / "corpus")
    if not corpus.exists():
        raise click.UsageError(f"{corpus} is absent; pass --corpus PATH")
    unknown = [n for n in names if n not in SPLITTERS]
    if unknown:
        raise click.UsageError(f"unknown splitter(s) {unknown}; choose from {sorted(SPLITTERS)}")
    sets = sets or tuple(s for s in DEFAULT_SETS if s.exists())
    click.echo(f"# bench splitter · {_machine()}")
    click.echo(f"# corpus: {corpus} · limit: {limit or 'all'} · sets: "
               f"{', '.join(s.name for s in sets)} · cache: {cache}")
    rows = bench_splitters(corpus.resolve(), list(sets), settings, names=list(names) or None,
                           limit=limit, cache=cache, answers=answers,
                           echo=lambda m: click.echo(m, err=True))
    click.echo(table(rows))
    click.echo(f"# finished · {_machine()}")
    if json_out:
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")


@bench.command(name="load")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Knowledge base to serve (copied; never written) "
                                 "[default: the global --data].")
@click.option("--questions", "sets", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Question set JSONL the askers cycle through (repeatable) [default: the "
                   "shared dev sets + evals/sets/cppcc_dev.jsonl].")
@click.option("--askers", "levels", multiple=True, type=click.IntRange(1, 200),
              help="Concurrent askers (repeatable) [default: 1, 10, 50].")
@click.option("--seconds", type=click.FloatRange(1, 600), default=20.0,
              help="How long each level runs [20].")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the rows as one JSON file.")
@click.pass_context
def load_command(ctx: click.Context, data: Path | None, sets: tuple[Path, ...],
                 levels: tuple[int, ...], seconds: float, json_out: Path | None):
    """Askers under load on 127.0.0.1 while staff write: errors, stale answers, latency, RSS."""
    from bench.load_bench import bench_load, table
    from bench.rss import stop_on_sigterm
    from evals.sets import load_set

    stop_on_sigterm()
    data = (data or ctx.obj().data).resolve()
    if not (data / "chroma").exists():
        raise click.UsageError(f"{data} holds no knowledge base; build one with "
                               "`cppcc-kb ingest` first")
    questions = [q.question for s in (sets or [s for s in DEFAULT_SETS if s.exists()])
                 for q in load_set(s)[0] if not q.history]
    if not questions:
        raise click.UsageError("no questions: pass --questions SET.jsonl")
    click.echo(f"# {_machine()}", err=True)
    rows = bench_load(data, questions, list(levels or (1, 10, 50)), seconds,
                      echo=lambda m: click.echo(m, err=True))
    click.echo(table(rows))
    if json_out:
        json_out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")
