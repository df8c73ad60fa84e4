"""Serve an ASGI app for real: uvicorn on a free 127.0.0.1 port, in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.support.llm_server import free_port


@contextmanager
def serving(app, path: str = "") -> Iterator[str]:
    """Yield the app's base URL (plus `path`) while uvicorn serves it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # startup loads the embedder when no test did yet
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(3)
        if thread.is_alive():  # browsers' and clients' event streams hold connections open
            server.force_exit = True
            thread.join(30)
