"""Benchmarks: speed and memory, always beside a plain LangChain baseline."""

from __future__ import annotations

import click


@click.group()
def bench():
    """Measure ingest and query speed against a plain LangChain baseline."""
