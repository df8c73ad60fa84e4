"""Reading files of every supported format, encoding detection, and every way a file is refused."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from fixtures import (NEWS_HTML, POLICY, ZIBO, encrypted_pdf_bytes, law_body_paragraphs,
                      pdf_bytes, requires_shared, scanned_pdf_bytes, shared_text, write_docx)
from ingest.errors import FileRejected
from ingest.normalize import normalize_text
from ingest.readers import ParsedFile, read_file
from ingest.readers.base import Unreadable
from ingest.readers.encoding import decode_text
from ingest.readers.pdf import join_wrapped_lines

MB = 1024 * 1024
GUOGE = "policy/国歌法(2017-09-01).md"


def rejected(path: Path, max_bytes: int = 10 * MB) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_file(path, max_bytes)
    assert info.value.path == str(path) and info.value.fix  # every refusal says what to do
    return info.value


# --- normalize_text ---------------------------------------------------------------------------

def test_normalize_line_ends_invisibles_indentation_and_blank_runs():
    raw = ("\ufeff# 标题\r\n\r\n\r\n\r\n\u3000\u3000第一条\u00a0内容\u200b。  \r  次行\t\n\n\n\n"
           "<!-- INFO END -->\n")
    assert normalize_text(raw) == "# 标题\n\n第一条 内容。\n次行\n\n<!-- INFO END -->"


def test_normalize_keeps_characters_verbatim():
    # No NFKC: full-width digits, full-width punctuation and compatibility forms stay as written.
    text = "全年６３６件提案（含联名）：ＡＢＣ①，“有事多商量”"
    assert normalize_text(text) == text


# --- plain text and Markdown, encodings -------------------------------------------------------

@requires_shared
def test_markdown_law_reads_verbatim_with_title(tmp_path):
    source = POLICY / "国歌法(2017-09-01).md"
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    parsed = read_file(copy, 10 * MB)
    assert isinstance(parsed, ParsedFile)
    assert (parsed.format, parsed.encoding, parsed.title) == ("md", "utf-8", "中华人民共和国国歌法")
    assert parsed.text == normalize_text(shared_text(GUOGE))  # laws carry no chrome to strip
    assert "<!-- INFO END -->" in parsed.text.split("\n")


@requires_shared
@pytest.mark.parametrize("codec, expected", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gbk", "gb18030"),  # GB18030 is the superset that decodes every GBK file
    ("gb18030", "gb18030"),
    ("utf-16", "utf-16-le"),  # Python writes a BOM for "utf-16"
    ("utf-16-be-bom", "utf-16-be"),
    ("utf-16-le", "utf-16-le"),  # no BOM: found from where the NUL bytes sit
    ("utf-16-be", "utf-16-be"),
])
def test_zibo_news_in_every_encoding_reads_the_same(tmp_path, codec, expected):
    original = ZIBO.read_text(encoding="utf-8")
    if codec == "utf-16-be-bom":
        raw = b"\xfe\xff" + original.encode("utf-16-be")
    else:
        raw = original.encode(codec)
    path = tmp_path / "zibo.txt"
    path.write_bytes(raw)
    parsed = read_file(path, 10 * MB)
    assert parsed.encoding == expected
    assert "全年636件提案承载民意" in parsed.text
    assert parsed.text == read_file(ZIBO, 10 * MB).text


@requires_shared
def test_saved_news_page_as_txt_loses_chrome_and_gains_its_headline():
    parsed = read_file(ZIBO, 10 * MB)
    assert (parsed.format, parsed.encoding) == ("txt", "utf-8")
    assert parsed.title == "淄博政协这一年|以实干实绩交出履职新答卷"
    assert parsed.text.startswith("# 淄博政协这一年|以实干实绩交出履职新答卷\n\n齐鲁网·闪电新闻1月13日讯")
    assert "分享至" not in parsed.text and "专题推荐" not in parsed.text


def test_decode_prefers_strict_attempts_and_rejects_misread_gb18030():
    assert decode_text("政协委员".encode("gbk")) == ("政协委员", "gb18030")
    assert decode_text("plain ascii".encode()) == ("plain ascii", "utf-8")
    # Big5 bytes also decode as GB18030, into rare characters: the plausibility check refuses that.
    big5 = ("中國人民政治協商會議是中國人民愛國統一戰線的組織，是中國共產黨領導的多黨合作和政治"
            "協商的重要機構。委員們積極履職，提出了許多寶貴的意見和建議。")
    text, encoding = decode_text(big5.encode("big5"))
    assert (text, encoding) == (big5, "big5")


def test_decode_rejects_nul_bytes_and_control_characters():
    with pytest.raises(Unreadable, match="NUL"):
        decode_text(b"abc\x00\x01\x02\x00\xff\xfe\x00\x00\x00rest")
    with pytest.raises(Unreadable, match="control characters"):
        decode_text(bytes(range(1, 9)) * 50)


# --- PDF --------------------------------------------------------------------------------------

@requires_shared
def test_pdf_of_a_law_reads_back_with_wrapped_lines_joined(tmp_path):
    from pypdf import PdfReader

    paragraphs = law_body_paragraphs(GUOGE)
    raw = pdf_bytes(paragraphs, title="中华人民共和国国歌法", heading="中华人民共和国国歌法")
    first_article = paragraphs[0]
    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(raw)).pages)
    # The PDF really wrapped article 1 (else the join below would prove nothing).
    assert first_article not in extracted and first_article[:20] in extracted
    path = tmp_path / "国歌法.pdf"
    path.write_bytes(raw)
    parsed = read_file(path, 10 * MB)
    assert (parsed.format, parsed.title) == ("pdf", "中华人民共和国国歌法")
    lines = parsed.text.split("\n")
    assert first_article in lines  # joined without a space: CJK on both sides of the wrap
    # Real paragraph breaks survive: every article of the law starts its own paragraph.
    articles = [p for p in paragraphs if p.startswith("第") and "条 " in p[:6]]
    assert len(articles) == 16
    for article in articles:
        assert f"\n\n{article[:12]}" in parsed.text or parsed.text.startswith(article[:12])
    assert all(p in parsed.text for p in paragraphs)  # nothing lost or altered


def test_join_wrapped_lines_rules():
    full = "这是一行排满的中文句子它在版心的右边缘被折行了所以需要接回去"  # 31 CJK = 62 columns
    lines = [full, "接着写完这一句。", "第二条 新的条文开始，", full, "（一）列项另起一段", full,
             "tail", "An English line that is long enough to be wrapped at the margin of",
             "the page."]
    assert join_wrapped_lines(lines).split("\n\n") == [
        full + "接着写完这一句。",  # no space between CJK halves
        "第二条 新的条文开始，",  # an article marker starts a new paragraph
        full,  # the next line opens a numbered item
        "（一）列项另起一段",
        full + "tail",
        "An English line that is long enough to be wrapped at the margin of the page.",
    ]


def test_join_wrapped_lines_leaves_short_lines_alone():
    # Lists and tables have no full-width lines: nothing may be glued together.
    assert join_wrapped_lines(["姓名 张三", "职务 主任", "界别 经济界"]) == "姓名 张三\n\n职务 主任\n\n界别 经济界"


@requires_shared
def test_encrypted_pdf_is_refused_unless_the_empty_password_opens_it(tmp_path):
    plain = pdf_bytes(law_body_paragraphs(GUOGE, 3))
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(encrypted_pdf_bytes(plain, user_password="secret"))
    problem = rejected(locked)
    assert "encrypted PDF" in problem.reason and "password" in problem.reason
    assert "unprotected copy" in problem.fix
    # Only an owner password (restricting printing/copying): readable as usual.
    restricted = tmp_path / "restricted.pdf"
    restricted.write_bytes(encrypted_pdf_bytes(plain, user_password=""))
    assert "第一条 为了维护国歌的尊严" in read_file(restricted, 10 * MB).text


@requires_shared
def test_truncated_pdf_is_refused_as_damaged(tmp_path):
    raw = pdf_bytes(law_body_paragraphs(GUOGE, 5))
    path = tmp_path / "cut.pdf"
    path.write_bytes(raw[: len(raw) // 2])
    problem = rejected(path)
    assert "damaged or truncated PDF" in problem.reason
    assert "re-download or re-export" in problem.fix


def test_scanned_pdf_without_text_layer_asks_for_ocr(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf_bytes(pages=2))
    problem = rejected(path)
    assert "扫描件" in problem.reason and "no text layer" in problem.reason
    assert "2 page(s)" in problem.reason
    assert "OCR" in problem.fix


def test_pdf_extension_on_other_content_is_refused(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("这其实是一段文字。", encoding="utf-8")
    assert "not a PDF" in rejected(path).reason


# --- DOCX -------------------------------------------------------------------------------------

def test_docx_headings_paragraphs_and_table(tmp_path):
    parsed = read_file(write_docx(tmp_path / "指南.docx"), 10 * MB)
    assert (parsed.format, parsed.title) == ("docx", "政协委员履职指南")
    assert parsed.text == (
        "# 政协委员履职指南\n\n"
        "## 第一章 总则\n\n"
        "第一条 为了规范政协委员履职，制定本指南。\n\n"
        "### 一、提案工作\n\n"
        "委员可以个人或者联名提出提案。\n\n"
        "姓名 | 界别 | 提案数\n张三 | 经济界 | 5\n李四 | 教育界 | 3\n\n"
        "表后的段落。")


def test_docx_text_in_tracked_insertions_and_content_controls(tmp_path):
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc = Document()
    paragraph = doc.add_paragraph("原有文字")
    inserted = OxmlElement("w:ins")
    inserted.set(qn("w:id"), "1")
    inserted.set(qn("w:author"), "审阅人")
    inserted.append(paragraph.add_run("，修订时插入的文字")._r)  # move the run into <w:ins>
    paragraph._p.append(inserted)
    deleted = OxmlElement("w:del")
    deleted.set(qn("w:id"), "2")
    deleted.set(qn("w:author"), "审阅人")
    deleted.append(paragraph.add_run("已删除")._r)
    paragraph._p.append(deleted)
    cover = doc.add_paragraph("封面控件中的文字")  # a block-level content control around it
    sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
    cover._p.addprevious(sdt)
    sdt.append(content)
    content.append(cover._p)
    path = tmp_path / "tracked.docx"
    doc.save(path)
    assert read_file(path, 10 * MB).text == "原有文字，修订时插入的文字\n\n封面控件中的文字"


def test_damaged_or_legacy_docx_is_refused(tmp_path):
    good = write_docx(tmp_path / "good.docx").read_bytes()
    damaged = tmp_path / "damaged.docx"
    damaged.write_bytes(good[: len(good) // 3])
    problem = rejected(damaged)
    assert "damaged .docx" in problem.reason and "re-save" in problem.fix
    legacy = tmp_path / "old.docx"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    problem = rejected(legacy)
    assert "old-format Word .doc" in problem.reason and "save as .docx" in problem.fix


# --- HTML -------------------------------------------------------------------------------------

@pytest.mark.parametrize("charset, codec", [("utf-8", "utf-8"), ("gbk", "gbk")])
def test_html_keeps_article_text_and_headings_only(tmp_path, charset, codec):
    path = tmp_path / "news.html"
    path.write_bytes(NEWS_HTML.format(charset=charset).encode(codec))
    parsed = read_file(path, 10 * MB)
    assert parsed.format == "html" and parsed.title == "市政协召开常委会议"
    assert parsed.encoding == ("gb18030" if charset == "gbk" else "utf-8")
    assert parsed.text == (
        "# 市政协召开常委会议\n\n"
        "本报讯 1月13日，市政协召开常委会议，审议通过了工作报告。\n\n"  # no space at the CJK wrap
        "## 会议内容\n\n"
        "会议指出，要深入调研、建真言。\n\n"
        "第一行\n第二行\n\n"
        "项目 | 数量\n提案 | 636件")
    for chrome in ("脚本", "样式", "color", "新闻中心", "网站首页", "分享到", "热门文章", "版权所有",
                   "请启用脚本", "首页 > 新闻"):
        assert chrome not in parsed.text


def test_html_with_stale_charset_declaration_is_read_as_utf8(tmp_path):
    path = tmp_path / "stale.html"
    path.write_bytes('<meta charset="gb2312"><p>政协委员积极履职。</p>'.encode("utf-8"))
    parsed = read_file(path, 10 * MB)
    assert (parsed.encoding, parsed.text) == ("utf-8", "政协委员积极履职。")


def test_html_title_falls_back_to_title_element(tmp_path):
    path = tmp_path / "page.htm"
    path.write_text("<html><head><title>政协简介</title></head><body><p>正文内容在这里。</p>"
                    "</body></html>", encoding="utf-8")
    parsed = read_file(path, 10 * MB)
    assert (parsed.title, parsed.text) == ("政协简介", "正文内容在这里。")


# --- refusals ---------------------------------------------------------------------------------

def test_empty_and_whitespace_only_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert rejected(empty).reason == "the file is empty (0 bytes)"
    blank = tmp_path / "blank.md"
    blank.write_bytes(b" \r\n\t\n")
    assert rejected(blank).reason == "the file is empty (only whitespace)"
    invisible = tmp_path / "invisible.txt"
    invisible.write_text("\u3000\u200b\n\u00a0\n", encoding="utf-16")
    assert "no text left" in rejected(invisible).reason


def test_page_with_only_chrome_has_no_text(tmp_path):
    path = tmp_path / "chrome.html"
    path.write_text("<html><body><nav>首页 新闻</nav><p>分享至</p><p>扫一扫在手机打开当前页</p>"
                    "<script>x()</script></body></html>", encoding="utf-8")
    problem = rejected(path)
    assert "no text left" in problem.reason and "page chrome" in problem.reason


def test_binary_files_named_txt(tmp_path):
    noise = random.Random(0).randbytes(4096)
    binary = tmp_path / "data.txt"
    binary.write_bytes(noise + b"\x00\x00")
    problem = rejected(binary)
    assert "binary data, not text" in problem.reason and "NUL" in problem.reason
    png = tmp_path / "photo.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise)
    assert "this is a PNG image" in rejected(png).reason
    controls = tmp_path / "controls.txt"
    controls.write_bytes(bytes(range(1, 32)) * 40)
    assert "control characters" in rejected(controls).reason
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(bytes(b for b in noise if b))  # no NUL bytes, still no encoding fits
    problem = rejected(garbage)
    assert problem.reason.startswith("not text in any known encoding")
    assert "save it as UTF-8" in problem.fix


def test_unsupported_extension(tmp_path):
    path = tmp_path / "提案.doc"
    path.write_bytes(b"whatever")
    problem = rejected(path)
    assert problem.reason == "unsupported file type .doc"
    assert ".docx" in problem.fix


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("政协" * 1000, encoding="utf-8")

    def no_reading(self):
        raise AssertionError("read_file read the bytes of an oversized file")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    problem = rejected(path, max_bytes=1000)
    assert problem.reason == "file too large: 6,000 bytes, over the limit of 1,000 bytes"
    assert "CPPCC_KB_MAX_FILE_MB" in problem.fix


def test_missing_path_directory_and_special_file(tmp_path):
    missing = rejected(tmp_path / "gone.txt")
    assert missing.reason == "file not found"
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert rejected(folder).reason == "this is a folder, not a file"
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # reading it would block forever: stat must refuse it first
    assert "not a regular file" in rejected(fifo).reason


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod 000 files stay readable, so permission "
                           "denied cannot be produced")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("内容", encoding="utf-8")
    path.chmod(0)
    try:
        problem = rejected(path)
    finally:
        path.chmod(0o644)
    assert problem.reason == "permission denied: the file cannot be read"
    assert "read access" in problem.fix


def test_permission_denied_reports_reason_and_fix(tmp_path, monkeypatch):
    # The same refusal, simulated, so that it is tested when running as root too.
    path = tmp_path / "secret.txt"
    path.write_text("内容", encoding="utf-8")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    problem = rejected(path)
    assert problem.reason == "permission denied: the file cannot be read"
    assert "read access" in problem.fix


def test_message_names_file_reason_and_fix(tmp_path):
    path = tmp_path / "x.wps"
    path.write_bytes(b"x")
    problem = rejected(path)
    assert str(problem) == f"{path}: unsupported file type .wps — {problem.fix}"


def test_parse_bytes_reads_what_the_caller_already_read():
    from ingest.readers import parse_bytes

    parsed = parse_bytes(Path("docs/说明.md"), "# 说明\r\n\r\n\u3000\u3000正文。".encode("utf-8"))
    assert (parsed.format, parsed.title, parsed.text) == ("md", "说明", "# 说明\n\n正文。")


# ---- decompression bombs and oversized text -------------------------------------------------
def _bomb_docx(path: Path, member: str, megabytes: int) -> Path:
    """A real .docx plus one part of `megabytes` zeros: a few hundred KB on disk."""
    import zipfile

    write_docx(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open(member, "w", force_zip64=True) as part:
            block = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                part.write(block)
    return path


@pytest.mark.parametrize("member, megabytes, says", [
    ("word/media/image1.png", 1024, "this .docx unpacks to 1,0"),
    ("customXml/item9.xml", 40, "the text of this .docx (its XML) unpacks to 4"),
])
def test_a_zip_bomb_docx_is_refused_from_its_directory(tmp_path, member, megabytes, says):
    path = _bomb_docx(tmp_path / "炸弹.docx", member, megabytes)
    assert path.stat().st_size < 3 * 1024 * 1024
    with pytest.raises(FileRejected) as info:
        read_file(path, 50 * 1024 * 1024)
    assert "解压后超过" in info.value.reason and says in info.value.reason
    assert "XML_PARSE_HUGE" not in str(info.value) and "split it" in info.value.fix


def test_a_zip_bomb_docx_is_refused_without_the_memory_it_would_take(tmp_path):
    """In a fresh process, reading a 3 GiB-inside .docx peaks far below what unpacking takes."""
    path = _bomb_docx(tmp_path / "bomb.docx", "word/media/image1.png", 3 * 1024)
    reason, grew_kb, _ = _read_in_fresh_process(path)
    assert "解压后超过" in reason, reason
    assert int(grew_kb) < 100 * 1024  # under 100 MB of growth, against 3 GiB unpacked


def test_text_past_the_per_document_limit_is_refused(tmp_path):
    from ingest.readers.base import MAX_TEXT_CHARS

    path = tmp_path / "huge.txt"
    path.write_text("政协" * (MAX_TEXT_CHARS // 2 + 1), encoding="utf-8")
    with pytest.raises(FileRejected) as info:
        read_file(path, 50 * 1024 * 1024)
    assert "over the limit of 10,000,000" in info.value.reason and "split" in info.value.fix


def _read_in_fresh_process(path: Path) -> tuple[str, int, float]:
    """(first line of the text or the refusal, RSS growth in KB, seconds) of read_file in a
    new process, so the peak memory is this file's alone."""
    import subprocess
    import sys

    script = ("import resource, sys, time\n"
              "from ingest.readers import read_file\n"
              "from ingest.errors import FileRejected\n"
              "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
              "t = time.perf_counter()\n"
              "try:\n    print(len(read_file(sys.argv[1], 50 * 1024 * 1024).text))\n"
              "except FileRejected as exc:\n    print(exc.reason)\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
              "print(time.perf_counter() - t)\n")
    run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2], timeout=300)
    said, grew_kb, seconds = run.stdout.strip().splitlines()[-3:]
    return said, int(grew_kb), float(seconds)


def test_a_web_page_is_read_within_its_memory_bound(tmp_path):
    """The largest page accepted, made of the smallest tags, parses in bounded memory; one
    over the size limit, or nested deeper than the depth limit, is refused before parsing
    (unbounded, a 45 MB page took 1.9 GB and a 22 MB deeply nested one hours)."""
    from ingest.readers.base import MAX_HTML_DEPTH, MAX_HTML_MB

    cell = "<p><b>政协</b></p>"
    largest = tmp_path / "largest.html"
    largest.write_text("<html><body>" + cell * (MAX_HTML_MB * 1024 * 1024 // len(cell.encode())
                                                 - 10) + "</body></html>", encoding="utf-8")
    said, grew_kb, _ = _read_in_fresh_process(largest)
    assert said.isdigit() and int(said) > 1_000_000
    assert grew_kb < 700 * 1024  # measured 430 MB

    too_big = tmp_path / "too_big.html"
    too_big.write_bytes(largest.read_bytes() + b"<p>" * (1024 * 1024))
    said, grew_kb, seconds = _read_in_fresh_process(too_big)
    assert said.startswith(f"网页文件超过 {MAX_HTML_MB} MB") and grew_kb < 100 * 1024

    deep = tmp_path / "deep.html"
    deep.write_text("<html><body>" + "<div>" * 200_000 + "政协" + "</div>" * 200_000
                    + "</body></html>", encoding="utf-8")
    said, grew_kb, seconds = _read_in_fresh_process(deep)
    assert said.startswith(f"网页标签嵌套超过 {MAX_HTML_DEPTH:,} 层") and seconds < 5


def test_a_flat_page_of_unclosed_paragraphs_is_not_deep():
    from ingest.readers.html import check_markup

    check_markup(b"<html><body>" + b"<p>\xe6\x94\xbf" * 20_000 + b"<ul>" + b"<li>x" * 20_000
                 + b"</ul></body></html>")  # the parser closes each <p> and <li> itself


def _bomb_pdf(path: Path, megabytes: int) -> Path:
    """A one-page PDF whose text stream unpacks to `megabytes` of drawing operators: under a
    megabyte on disk."""
    import zlib

    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, EncodedStreamObject, NameObject

    pack, data = zlib.compressobj(9), b""
    block = b"BT /F1 12 Tf 10 10 Td (abc) Tj ET\n" * 30_000  # about 1 MB
    for _ in range(megabytes):
        data += pack.compress(block)
    data += pack.flush()
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = EncodedStreamObject()
    stream._data = data
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    with open(path, "wb") as out:
        writer.write(out)
    return path


def test_a_pdf_decompression_bomb_is_refused_within_bounded_memory(tmp_path):
    """pypdf's own bound (75 MB a stream) stops a stream that unpacks to 300 MB: refused as a
    bomb, and the process grows far less than the stream would take (measured 150 MB)."""
    path = _bomb_pdf(tmp_path / "bomb.pdf", 300)
    assert path.stat().st_size < 2 * 1024 * 1024
    said, grew_kb, _ = _read_in_fresh_process(path)
    assert "解压后超过" in said and "decompression bomb" in said
    assert grew_kb < 300 * 1024
