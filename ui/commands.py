"""The serve command: the members' chat and the staff desk in one process."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default=None, help="Interface to listen on [env CPPCC_KB_HOST; 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env CPPCC_KB_PORT; 7860].")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None):
    """Run the chat (Gradio) and the API (FastAPI) in one process."""
    raise click.ClickException("serve is not built yet")
