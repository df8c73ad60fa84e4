"""Shared fixtures: real components only (Chroma on disk, the real embedder, shared documents)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REQUIRE_SHARED = "CPPCC_KB_REQUIRE_SHARED"  # CI sets it: absent shared material is a failure


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip (fail in CI) with the reason when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: these tests read the shared corpus and question sets"
        if os.environ.get(REQUIRE_SHARED) == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    return shared_path("corpus")


@pytest.fixture(scope="session")
def shared_evals() -> Path:
    return shared_path("evals")


def make_settings(data: Path, **overrides):
    from cppcc_kb.settings import Settings

    return Settings(data=data, **overrides)


@pytest.fixture
def settings(tmp_path):
    """Settings for an empty knowledge base in tmp_path (the model cache is the machine's)."""
    return make_settings(tmp_path / "kb")


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder, loaded once per test session."""
    from cppcc_kb.settings import Settings
    from ingest.embedder import load_embedder

    return load_embedder(Settings())


@pytest.fixture(scope="session")
def corpus_data(tmp_path_factory, shared_corpus, embedder) -> Path:
    """A knowledge base holding ../shared/corpus (news report + 13 laws), built once; tests
    that need a private copy take `corpus_settings`."""
    from ingest.kb import KnowledgeBase
    from ingest.pipeline import ingest_paths

    data = tmp_path_factory.mktemp("corpus-kb") / "kb"
    settings = make_settings(data)
    summary = ingest_paths([shared_corpus], settings, kb=KnowledgeBase(settings, embedder))
    assert not summary.failed, summary.failed
    return data


@pytest.fixture
def corpus_settings(corpus_data, tmp_path):
    """Settings over a private copy of the shared-corpus knowledge base (safe to modify)."""
    copy = tmp_path / "kb"
    shutil.copytree(corpus_data, copy)
    return make_settings(copy)


@pytest.fixture(scope="session")
def corpus_bot(corpus_data, embedder):
    """A Bot over the shared-corpus knowledge base (read-only use)."""
    from bot.chain import Bot
    from ingest.kb import KnowledgeBase

    # Not logged: tests copy corpus_data, and a copy must not carry other tests' questions.
    settings = make_settings(corpus_data, log_questions=False)
    return Bot(settings, KnowledgeBase(settings, embedder))
