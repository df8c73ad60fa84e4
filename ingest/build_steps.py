"""The one-time model builds of a machine's first start, each announced with its time.

A fresh machine builds the embedding model's folder and its graphs before the first answer:
staff watching the first `serve` see each step and how long it took, not a silent minute.
The steps log to the `cppcc_kb.build` logger; the CLI shows them (ui/commands.py), a library
user sees them only when logging is configured.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

log = logging.getLogger("cppcc_kb.build")


@contextmanager
def build_step(what: str):
    """Announce `what`, run the block, then say how long it took (or that it failed)."""
    log.info("%s …", what)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        log.info("%s: failed after %.1f s", what, time.perf_counter() - started)
        raise
    log.info("%s: done in %.1f s", what, time.perf_counter() - started)
