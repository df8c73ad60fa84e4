"""`backup` / `restore`: a backup taken while a server answers, restored into a new knowledge
base that answers the same; bad targets and damaged backups refused with nothing changed."""

from __future__ import annotations

import threading

import httpx
import pytest
from pydantic import SecretStr

from bot.app import create_api
from bot.chain import Bot
from cppcc_kb.settings import Settings
from ingest.backup import BackupError, backup, restore
from ingest.kb import KnowledgeBase
from ingest.store import Store
from tests.support.serving import serving

QUESTIONS = ["淄博有多少家“政协委员工作室”？", "2025年淄博市政协开展了多少场次协商？",
             "全国人大开会期间，多少名代表联名可以书面提出质询案？"]


def test_a_backup_taken_while_serving_restores_to_a_knowledge_base_that_answers_the_same(
        corpus_settings, embedder, tmp_path):
    settings = corpus_settings.model_copy(update={"staff_token": SecretStr("backup-test-a81f-x2")})
    bot = Bot(settings, KnowledgeBase(settings, embedder))
    stop, codes = threading.Event(), []
    with serving(create_api(settings, bot)) as base:
        def asker():
            with httpx.Client(base_url=base, timeout=120) as client:
                while not stop.is_set():
                    codes.append(client.post("/api/ask", json={"question": QUESTIONS[0]})
                                 .status_code)
        threads = [threading.Thread(target=asker) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            manifest = backup(settings, tmp_path / "backup")
        finally:
            stop.set()
            for t in threads:
                t.join(120)
        before = [bot.ask(q).answer for q in QUESTIONS]
    assert codes and set(codes) == {200}  # the server answered throughout
    assert manifest["documents"] == len(bot.kb.records()) == 14
    assert not list(tmp_path.glob(".backup.partial-*"))  # the temporary folder became the backup

    restored = Settings(data=tmp_path / "restored")
    assert restore(restored, tmp_path / "backup")["chunks"] == manifest["chunks"]
    again = Bot(restored, KnowledgeBase(restored, embedder))
    assert [again.ask(q).answer for q in QUESTIONS] == before
    assert {d: r.version for d, r in again.kb.records().items()} == \
        {d: r.version for d, r in bot.kb.records().items()}
    assert len(again.kb.keywords) == len(bot.kb.fresh(force=True).keywords)


def test_restore_into_a_non_empty_knowledge_base_is_refused_and_changes_nothing(
        corpus_settings, tmp_path):
    backup(corpus_settings, tmp_path / "b")
    count = Store(corpus_settings).chunks.count()
    with pytest.raises(BackupError, match="is not empty"):
        restore(corpus_settings, tmp_path / "b")
    assert Store(corpus_settings).chunks.count() == count


def test_a_damaged_backup_leaves_the_target_empty(corpus_settings, tmp_path):
    backup(corpus_settings, tmp_path / "b")
    lines = (tmp_path / "b" / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "b" / "chunks.jsonl").write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    target = Settings(data=tmp_path / "t")
    with pytest.raises(BackupError, match="is incomplete"):
        restore(target, tmp_path / "b")
    store = Store(target)
    assert store.chunks.count() == 0 and store.docs.count() == 0


def test_a_backup_never_overwrites_a_folder(corpus_settings, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(BackupError, match="not an empty folder"):
        backup(corpus_settings, tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    with pytest.raises(BackupError, match="not a cppcc-kb backup"):
        restore(Settings(data=tmp_path / "t"), tmp_path / "full")
