"""Test documents generated at test time: PDFs, DOCX, HTML and re-encoded text in tmp_path.

Nothing binary is committed; shared documents are read from ../shared, never copied in.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"
POLICY = CORPUS / "policy"
ZIBO = CORPUS / "zibo-cppcc-2025-review.txt"
SCALE_LAWS = SHARED / "scale" / "laws"

requires_shared = pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"shared corpus not found at {CORPUS} (the ../shared folder beside the repo is absent)")
requires_scale = pytest.mark.skipif(
    not SCALE_LAWS.is_dir(), reason=f"scale corpus not found at {SCALE_LAWS}")

_CJK_FONT = "STSong-Light"  # reportlab's built-in CID font: pypdf extracts its text back


def shared_text(name: str) -> str:
    """A shared document's text (UTF-8), e.g. "policy/国歌法(2017-09-01).md"."""
    return (CORPUS / name).read_text(encoding="utf-8")


def law_body_paragraphs(name: str, count: int | None = None) -> list[str]:
    """The paragraphs after `<!-- INFO END -->` of a shared law, without Markdown headings."""
    body = shared_text(name).split("<!-- INFO END -->", 1)[1]
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip() and not p.startswith("#")]
    return paragraphs[:count] if count else paragraphs


def pdf_bytes(paragraphs: list[str], title: str | None = None, heading: str | None = None) -> bytes:
    """A text PDF (reportlab, Chinese CID font) whose paragraphs wrap across lines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    body = ParagraphStyle("body", fontName=_CJK_FONT, fontSize=12, leading=18, wordWrap="CJK",
                          spaceAfter=6)
    head = ParagraphStyle("head", parent=body, fontSize=18, leading=26, spaceAfter=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title or "")
    flow = [Paragraph(heading, head)] if heading else []
    flow += [Paragraph(text, body) for text in paragraphs]
    doc.build(flow)
    return buffer.getvalue()


def scanned_pdf_bytes(pages: int = 2) -> bytes:
    """A PDF whose pages hold only drawings (what a scan looks like to a text extractor)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for _ in range(pages):
        page.rect(72, 72, 400, 600, fill=1)
        page.line(72, 400, 472, 420)
        page.showPage()
    page.save()
    return buffer.getvalue()


def encrypted_pdf_bytes(raw: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """`raw` encrypted with RC4-128 (AES would need the `cryptography` package)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    writer.encrypt(user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_docx(path: Path) -> Path:
    """A .docx with a Title, Heading 1/2 sections, body paragraphs and a 3x3 table."""
    from docx import Document

    doc = Document()
    doc.core_properties.title = "core-properties title (should lose to the Title style)"
    doc.add_paragraph("政协委员履职指南", style="Title")
    doc.add_heading("第一章 总则", level=1)
    doc.add_paragraph("第一条 为了规范政协委员履职，制定本指南。")
    doc.add_paragraph("")  # empty paragraphs are skipped, not kept as blank lines
    doc.add_heading("一、提案工作", level=2)
    doc.add_paragraph("委员可以个人或者联名提出提案。")
    table = doc.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [("姓名", "界别", "提案数"), ("张三", "经济界", "5"),
                                       ("李四", "教育界", "3")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    doc.add_paragraph("表后的段落。")
    doc.save(path)
    return path


NEWS_HTML = """<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>政协新闻 - 某某网</title>
<style>body {{ color: red; }} .x::after {{ content: "样式文字"; }}</style>
<script>var tracker = "脚本文字"; document.write("脚本输出");</script>
</head><body>
<header class="site-header"><a href="/">网站首页</a></header>
<nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li></ul></nav>
<div class="breadcrumb">首页 &gt; 新闻 &gt; 正文</div>
<article>
<h1>市政协召开常委会议</h1>
<p>本报讯 1月13日，市政协召开常委会议，
审议通过了工作报告。</p>
<h2>会议内容</h2>
<p>会议指出，要<b>深入</b>调研、建真言。</p>
<p>第一行<br>第二行</p>
<table><tr><th>项目</th><th>数量</th></tr><tr><td>提案</td><td>636件</td></tr></table>
<noscript>请启用脚本</noscript>
</article>
<div class="share-bar">分享到：微信 微博</div>
<aside>热门文章：别的新闻</aside>
<footer>版权所有 某某网</footer>
<script>console.log("末尾脚本")</script>
</body></html>
"""
