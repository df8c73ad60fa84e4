"""The hybrid search as a LangChain retriever, so it composes with the rest of LangChain
(`retriever | format_docs | prompt | llm`), and the chain's retrieve step goes through it."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.retrieval import Filters, HybridSearch, Passage


class KnowledgeBaseRetriever(BaseRetriever):
    """Dense (Chroma) + BM25 (jieba) retrieval, rank-fused, over committed documents only.

    Extra keyword arguments of `invoke`: `filters` (a `Filters` or its dict form), `years`
    (named in the question: those documents rank first), `title_query` (text in which to look
    for document titles, e.g. the question with the previous one), `k`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    search: HybridSearch
    k: int = 8

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                filters: Filters | dict | None = None,
                                years: list[int] | None = None, title_query: str | None = None,
                                k: int | None = None) -> list[Document]:
        if not isinstance(filters, Filters):
            filters = Filters.parse(filters)
        passages = self.search.search(query, k or self.k, filters, years=years,
                                      title_query=title_query)
        return [to_document(p) for p in passages]


def to_document(p: Passage) -> Document:
    meta: dict[str, Any] = {**p.meta, "chunk_id": p.chunk_id, "score": p.score,
                            "dense_rank": p.dense_rank, "keyword_rank": p.keyword_rank}
    return Document(page_content=p.text, metadata=meta, id=p.chunk_id)


def to_passage(doc: Document) -> Passage:
    meta = dict(doc.metadata)
    return Passage(meta.pop("chunk_id"), doc.page_content, meta, score=meta.pop("score", 0.0),
                   dense_rank=meta.pop("dense_rank", 0), keyword_rank=meta.pop("keyword_rank", 0))
