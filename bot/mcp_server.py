"""The knowledge base for MCP clients (`cppcc-kb mcp`): tools `ask`, `search` and
`list_documents`, and each document's text as the resource `cppcc-kb://documents/{doc_id}`.

A thin face over the one `Bot`, built with the official SDK (mcp 2.x, `MCPServer`). Over stdio
by default (a client starts `cppcc-kb mcp` itself); `--transport streamable-http` serves it on
127.0.0.1. Answers are logged in the question log as face `mcp`.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent

from bot.chain import Bot
from bot.plain import answer_text, citation_data
from bot.retrieval import Filters
from cppcc_kb.errors import KBError

DOCUMENT_URI = "cppcc-kb://documents/{doc_id}"
_SEARCH_TEXT_CHARS = 300

INSTRUCTIONS = ("政协知识库：用 ask 提问，得到带编号出处的回答（资料中没有时明确说没有找到）；"
                "search 返回相关段落；list_documents 列出收录的文件；文件全文见资源 "
                f"{DOCUMENT_URI}。回答中的数字只来自所引原文。")


def build_mcp(bot: Bot) -> MCPServer:
    server = MCPServer("cppcc-kb", title="政协知识库问答", instructions=INSTRUCTIONS,
                       log_level="WARNING")

    @server.tool(title="提问（带出处）")
    def ask(question: str, history: list[str] | None = None, doc_ids: list[str] | None = None,
            years: list[int] | None = None) -> CallToolResult:
        """Answer a question about the CPPCC's work from the knowledge base, with numbered
        citations; says it found nothing rather than guess. `history`: earlier questions of
        the conversation, oldest first; `doc_ids`/`years` narrow the search."""
        try:
            answer = bot.ask(question, history=history or [],
                             filters={"doc_ids": doc_ids or [], "years": years or []}, log="mcp")
        except KBError as exc:
            return _error(exc)
        data = {"answer": answer.answer, "abstained": answer.abstained,
                "verified": answer.verified, "disputed": answer.disputed, "reason": answer.reason,
                "note": answer.note, "log_id": answer.log_id,
                "citations": [citation_data(c) for c in answer.citations],
                "closest": answer.closest}
        return CallToolResult(content=[TextContent(type="text", text=answer_text(answer))],
                              structured_content=data)

    @server.tool(title="检索段落")
    def search(query: str, k: int = 5, doc_ids: list[str] | None = None,
               years: list[int] | None = None) -> CallToolResult:
        """The k passages (1-20) of the knowledge base that best match `query`, best first."""
        if not 1 <= k <= 20:
            return _error(f"k must be between 1 and 20, got {k}")
        try:
            filters = Filters.parse({"doc_ids": doc_ids or [], "years": years or []})
            passages = bot.search.search(query, k=k, filters=filters)
        except KBError as exc:
            return _error(exc)
        rows = [{"rank": i, "chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title,
                 "heading": p.meta.get("heading", ""), "score": round(p.score, 5),
                 "text": p.text} for i, p in enumerate(passages, 1)]
        text = "\n\n".join(f"[{r['rank']}] 《{r['title']}》{r['text'][:_SEARCH_TEXT_CHARS]}"
                           for r in rows) or "知识库中没有找到相关段落。"
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content={"passages": rows})

    @server.tool(title="文件列表")
    def list_documents() -> CallToolResult:
        """The documents in the knowledge base: id, title, date, kind, chunks, resource URI."""
        try:
            records = sorted(bot.kb.records().values(), key=lambda r: (r.title, r.doc_id))
        except KBError as exc:
            return _error(exc)
        rows = [{"doc_id": r.doc_id, "title": r.title, "date": r.date, "kind": r.kind,
                 "source": r.source, "chunks": r.chunks,
                 "uri": DOCUMENT_URI.format(doc_id=r.doc_id)} for r in records]
        text = "\n".join(f"{r['doc_id']}  《{r['title']}》 {r['date']}" for r in rows)
        return CallToolResult(content=[TextContent(type="text", text=text or "知识库是空的。")],
                              structured_content={"documents": rows})

    @server.resource(DOCUMENT_URI, name="document", title="文件全文", mime_type="text/plain")
    def document(doc_id: str) -> str:
        """The whole text of one document, as the knowledge base stores it."""
        records = bot.kb.records()
        if doc_id not in records:
            raise ValueError(f"no document {doc_id!r}; the tool list_documents gives the ids")
        return bot.kb.store.document_text(doc_id) or ""

    return server


def _error(problem: KBError | str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=str(problem))], is_error=True)
