"""The one set of upload-name rules: codes, and the sentences each face shows."""

from __future__ import annotations

from ingest.uploads import NameProblem, check_name, reason_en, reason_zh, safe_file_name


def test_names_lose_folders_control_characters_and_leading_dots():
    assert safe_file_name("../../某处/报告.txt") == "报告.txt"
    assert safe_file_name("C:\\docs\\条例.pdf") == "条例.pdf"
    assert safe_file_name(" .hidden\x00.md ") == "hidden.md"


def test_each_refusal_has_a_code_and_says_what_to_do_in_both_languages():
    cases = {"../": NameProblem.EMPTY, "长" * 90 + ".txt": NameProblem.TOO_LONG,
             "manifest.json": NameProblem.MANIFEST, "报告.txt": NameProblem.DUPLICATE}
    for sent, code in cases.items():
        name, problem = check_name(sent, {"报告.txt"})
        assert problem is code, sent
        what, fix = reason_en(problem)
        assert what and fix and "—" in reason_zh(problem)
    assert check_name("新报告.txt", {"报告.txt"}) == ("新报告.txt", None)
    assert "两个同名文件" in reason_zh(NameProblem.DUPLICATE)
