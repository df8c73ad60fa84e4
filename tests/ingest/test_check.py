"""`cppcc-kb check [--repair]` over what a killed upload leaves: a pending version, its chunks,
an upload folder — found, repaired, and the knowledge base answers as before."""

from __future__ import annotations

import numpy as np

from ingest.check import check
from ingest.store import DocRecord, Store, chunk_id
from tests.support.warm_cli import warm_cli


def _kill_mid_upload(settings) -> None:
    """The state a kill -9 between writing chunks and committing leaves: a pending version of
    a new document with two chunks, and the folder its upload was saved in."""
    store = Store(settings)
    rec = DocRecord(doc_id="doc-killed0001", title="半途而废", source="killed.txt", sha256="x")
    store.begin([(rec, "v" * 16, 2)])
    ids = [chunk_id(rec.doc_id, "v" * 16, i) for i in range(2)]
    dim = int(store.chunks.metadata.get("dim") or 384)
    store.add_chunks(ids, np.ones((2, dim), np.float32) / np.sqrt(dim), ["半", "途"],
                     [{"doc_id": rec.doc_id, "version": "v" * 16}] * 2)
    (settings.uploads_dir / "api-killed").mkdir(parents=True)
    (settings.uploads_dir / "api-killed" / "killed.txt").write_text("半途而废", encoding="utf-8")


def test_check_finds_what_a_killed_upload_left_and_repair_clears_it(corpus_settings):
    before = check(corpus_settings)
    assert before.ok, before.lines()
    _kill_mid_upload(corpus_settings)
    found = check(corpus_settings)
    assert not found.ok
    assert found.pending == ("doc-killed0001",) and found.orphans == 2
    assert found.leftovers == ("api-killed",)
    fixed = check(corpus_settings, repair=True)
    assert fixed.ok and fixed.repaired, fixed.lines()
    assert (fixed.documents, fixed.chunks) == (before.documents, before.chunks)
    assert not any(corpus_settings.uploads_dir.glob("*"))


def test_the_check_command_exits_1_on_a_problem_and_0_once_repaired(corpus_settings):
    _kill_mid_upload(corpus_settings)
    warm = warm_cli()
    found = warm.run(["--data", corpus_settings.data, "check"])
    assert found.code == 1 and "orphan chunk" in found.stdout and "--repair" in found.stderr
    fixed = warm.run(["--data", corpus_settings.data, "check", "--repair"])
    assert fixed.code == 0 and "repaired" in fixed.stdout and "OK:" in fixed.stdout
    ask = warm.run(["--data", corpus_settings.data, "ask", "淄博有多少家“政协委员工作室”？"])
    assert ask.code == 0 and "44" in ask.stdout


def test_sentence_vectors_of_an_older_basis_are_found_and_re_made(corpus_settings):
    """A store built before the sentence basis changed: its passages' sentence vectors are not
    comparable with the questions' any more. check names the documents; --repair re-indexes
    them from their stored text, in this version's basis."""
    from ingest.sentence_vectors import BASIS_KEY, shipped_basis

    store = Store(corpus_settings)
    doc_id = next(r.doc_id for r in store.records() if r.kind == "news")
    got = store.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
    store.chunks.update(ids=got["ids"], metadatas=[{**m, BASIS_KEY: "0ldbasis00"}
                                                   for m in got["metadatas"]])
    found = check(corpus_settings)
    assert not found.ok and found.old_sentences == (doc_id,)
    assert any("sentence vectors" in line for line in found.lines())
    fixed = check(corpus_settings, repair=True)
    assert fixed.ok, fixed.lines()
    metas = Store(corpus_settings).chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
    assert {m[BASIS_KEY] for m in metas["metadatas"]} == {shipped_basis().tag}
