"""Held-out splits are by document, reproducible from file names alone, and make unanswerable
questions by leaving their documents out."""

from __future__ import annotations

from pathlib import PurePath

from evals.heldout import (FOLDS, doc_ids_named, fold_of, held_out_set, law_subset, left_out,
                           question_fold)
from evals.sets import Question

NAMES = [f"文档{i}.md" for i in range(200)]


def test_folds_and_leaving_out_follow_from_the_file_name_alone():
    assert [fold_of(n) for n in NAMES] == [fold_of(f"some/dir/{n}") for n in NAMES]
    sizes = [sum(fold_of(n) == f for n in NAMES) for f in range(FOLDS)]
    assert min(sizes) > 20  # every fold gets a share
    assert 25 < sum(left_out(n) for n in NAMES) < 75  # about one in four


def test_a_fold_holds_its_documents_questions_and_those_left_out_become_unanswerable():
    questions = [Question(f"q{i}", f"问题{i}？", ["答案"], sources=[n]) for i, n in enumerate(NAMES)]
    seen = []
    for fold in range(FOLDS):
        test = held_out_set(questions, fold)
        seen += [q.id for q in test.questions]
        for q in test.questions:
            source = NAMES[int(q.id[1:])]
            assert fold_of(source) == fold  # split by document, never by question
            assert q.answerable != left_out(source)
            assert (source in test.hidden) == left_out(source)
    assert sorted(seen) == sorted(q.id for q in questions)  # every question in one fold


def test_a_question_across_folds_belongs_to_none():
    a = next(n for n in NAMES if fold_of(n) == 0)
    b = next(n for n in NAMES if fold_of(n) == 1)
    assert question_fold(Question("x", "？", ["y"], sources=[a, b])) is None


def test_the_law_subset_is_the_named_laws_and_the_first_others_by_hash():
    laws = [PurePath(f"laws/类{i % 3}/{n}") for i, n in enumerate(NAMES)]
    chosen = law_subset(laws, {NAMES[5], NAMES[7]}, 10)
    assert [p.name for p in chosen[:2]] == [NAMES[5], NAMES[7]] and len(chosen) == 12
    # the others do not depend on the order the files were listed in
    assert law_subset(list(reversed(laws)), {NAMES[5], NAMES[7]}, 10)[2:] == chosen[2:]


def test_documents_are_found_by_their_file_name():
    from types import SimpleNamespace

    records = {"d1": SimpleNamespace(source="/x/a.md"), "d2": SimpleNamespace(source="b.md")}
    assert doc_ids_named(records, {"a.md"}) == {"d1"}
