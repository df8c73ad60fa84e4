"""`cppcc-kb`: one entry point; each area keeps its commands in its own package."""

from __future__ import annotations

import sys

import click

from cppcc_kb.errors import KBError
from cppcc_kb.settings import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", type=click.Path(file_okay=False), default=None,
              help="Knowledge base folder [env CPPCC_KB_DATA; default ./data].")
@click.option("--chroma-url", default=None,
              help="Use a `chroma run` server, e.g. http://127.0.0.1:8000 [env CPPCC_KB_CHROMA_URL].")
@click.option("--embedder", default=None,
              help="Embedding model: local folder or cached name [env CPPCC_KB_EMBEDDER].")
@click.pass_context
def cli(ctx: click.Context, data: str | None, chroma_url: str | None, embedder: str | None):
    """政协知识库问答 — cited answers about the CPPCC's work, from your own documents."""
    ctx.obj = lambda: load_settings(data=data, chroma_url=chroma_url, embedder=embedder)


def _register() -> None:
    from bench.commands import bench
    from bot.commands import ask, log_group, mcp_command
    from evals.commands import eval_command
    from ingest.commands import (audit, backup, check, ingest, list_documents, reindex, remove,
                                 reset, restore)
    from ui.commands import serve

    for command in (ingest, list_documents, remove, reindex, reset, check, backup, restore, audit, ask,
                    serve, eval_command, bench, log_group, mcp_command):
        cli.add_command(command)


_register()


def _show_build_steps() -> None:
    """A machine's one-time model builds (ingest/build_steps.py), on stderr as they happen."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logger = logging.getLogger("cppcc_kb.build")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # ONNX Runtime's quantizer gives the root logger a handler too


def main() -> None:
    _show_build_steps()
    try:
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:  # ctx.exit(n) returns n in non-standalone mode
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KBError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
