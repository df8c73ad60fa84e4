"""The hybrid search is a LangChain retriever: it composes with LangChain runnables."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from bot.retriever import to_document, to_passage


def test_the_bot_retrieves_through_a_langchain_retriever(corpus_bot):
    retriever = corpus_bot.retriever
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("淄博有多少家“政协委员工作室”？")
    assert docs and all(isinstance(d, Document) for d in docs)
    assert any("44家" in d.page_content for d in docs[:3])
    assert {"doc_id", "chunk_id", "title", "start", "end", "score"} <= set(docs[0].metadata)


def test_it_composes_with_other_runnables(corpus_bot):
    chain = corpus_bot.retriever | RunnableLambda(lambda docs: [d.metadata["title"] for d in docs])
    titles = chain.invoke("按国旗法，哪些人逝世时下半旗志哀？")
    assert titles and "国旗法" in titles[0]


def test_filters_pass_through_invoke(corpus_bot):
    docs = corpus_bot.retriever.invoke("提案", filters={"doc_ids": ["no-such-doc"]})
    assert docs == []


def test_documents_and_passages_round_trip(corpus_bot):
    doc = corpus_bot.retriever.invoke("宪法宣誓")[0]
    passage = to_passage(doc)
    again = to_document(passage)
    assert again.page_content == doc.page_content and again.metadata == doc.metadata
