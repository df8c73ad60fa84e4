"""What an uploaded file may be called — the one set of rules for the API and the desk.

The file name is the document's identity, so a name is cleaned (no folders, control characters
or leading dots) and refused when nothing is left, when it is too long for the disk, when it is
the folder manifest, or when one upload holds it twice. Refusals are codes; each face renders
them in its own language from the sentences here.
"""

from __future__ import annotations

from enum import StrEnum

from ingest.manifest import MANIFEST

MAX_NAME_BYTES = 255


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    MANIFEST = "manifest"
    DUPLICATE = "duplicate"


_EN = {
    NameProblem.EMPTY: ("the file name is empty once folders and control characters are "
                        "removed", "give the file a name such as 报告.txt"),
    NameProblem.TOO_LONG: (f"the file name is longer than {MAX_NAME_BYTES} bytes",
                           "shorten the file name"),
    NameProblem.MANIFEST: (f"{MANIFEST} describes a folder for `cppcc-kb ingest`; it is not a "
                           "document", "upload the documents themselves"),
    NameProblem.DUPLICATE: ("the upload holds two files of this name, and the name is the "
                            "document's identity", "upload each file once, or rename one"),
}
_ZH = {
    NameProblem.EMPTY: ("文件名为空（去掉目录和控制字符后）", "请给文件起名，如 报告.txt"),
    NameProblem.TOO_LONG: (f"文件名超过 {MAX_NAME_BYTES} 字节", "请缩短文件名"),
    NameProblem.MANIFEST: (f"{MANIFEST} 是供 `cppcc-kb ingest` 使用的目录清单，不是文档",
                           "请上传文档本身"),
    NameProblem.DUPLICATE: ("本次上传中有两个同名文件，而文件名是文档的身份",
                            "每个文件只传一次，或改名"),
}


def safe_file_name(sent: str) -> str:
    """The base name of an uploaded file, without folders, control characters or leading dots."""
    base = sent.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".").strip()


def check_name(sent: str, taken: set[str]) -> tuple[str, NameProblem | None]:
    """(the name to store the file under — or to show, when refused —, what is wrong or None)."""
    name = safe_file_name(sent)
    if not name:
        return sent, NameProblem.EMPTY
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return name, NameProblem.TOO_LONG
    if name == MANIFEST:  # saved beside the batch, it would relabel the other files
        return name, NameProblem.MANIFEST
    if name in taken:
        return name, NameProblem.DUPLICATE
    return name, None


def reason_en(problem: NameProblem) -> tuple[str, str]:
    """(what is wrong, what to do) in English, for the API."""
    return _EN[problem]


def reason_zh(problem: NameProblem) -> str:
    """What is wrong — what to do, in Chinese, for the desk."""
    what, fix = _ZH[problem]
    return f"{what} — {fix}"
