"""The plain LangChain baseline every figure is compared with.

What a first LangChain prototype would do: read each file's text, `RecursiveCharacterTextSplitter
(chunk_size=500, chunk_overlap=50)`, `langchain_chroma.Chroma.from_documents`, and at question
time `vectorstore.as_retriever(search_kwargs={"k": 5}).invoke(q)`. It embeds with the SAME
SentenceTransformer as the project (through `E5Embeddings`, which calls the project's
`Embedder.embed_passages` / `embed_query`, so the e5 "passage: " / "query: " prompts, the batch
size and the L2 normalisation are identical). It has no incremental mode: re-running it embeds
everything again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

CHUNK_SIZE, CHUNK_OVERLAP = 500, 50
COLLECTION = "langchain"
_TEXT_SUFFIXES = {".txt", ".md", ".markdown"}


class E5Embeddings(Embeddings):
    """A LangChain `Embeddings` over the project's embedder; counts its own seconds."""

    def __init__(self, embedder, batch_size: int = 16, group: int = 256, label: str = ""):
        self.embedder, self.batch_size, self.group, self.label = embedder, batch_size, group, label
        self.seconds = 0.0
        self.texts = 0
        self.query_seconds = 0.0
        self.queries = 0
        self._last_log = time.monotonic()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        # Groups of 256, as the project's pipeline embeds; only for progress lines — the model
        # call, prompts and batch size are the same as one big call.
        out: list[list[float]] = []
        for i in range(0, len(texts), self.group):
            t0 = time.perf_counter()
            vectors = self.embedder.embed_passages(texts[i:i + self.group], self.batch_size)
            self.seconds += time.perf_counter() - t0
            self.texts += len(vectors)
            out.extend(vectors.tolist())
            if time.monotonic() - self._last_log > 30:
                self._last_log = time.monotonic()
                rate = self.texts / self.seconds if self.seconds else 0.0
                print(f"[{self.label or 'baseline'}] embedded {self.texts} chunks "
                      f"({rate:.1f}/s in the model)", file=sys.stderr, flush=True)
        return out

    def embed_query(self, text: str) -> list[float]:
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(text).tolist()
        self.query_seconds += time.perf_counter() - t0
        self.queries += 1
        return vector


def splitter(chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP,
             add_start_index: bool = False):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                          add_start_index=add_start_index)


def load_documents(files: list[Path]) -> list[Document]:
    """The file's text as a prototype would read it (TextLoader-style); other formats go
    through the project's readers, since plain LangChain would need extra loaders for them."""
    docs = []
    for path in files:
        if path.suffix.lower() in _TEXT_SUFFIXES:
            text = path.read_text("utf-8", errors="replace")
        else:
            from ingest.readers import parse_bytes

            text = parse_bytes(path, path.read_bytes()).text
        docs.append(Document(page_content=text, metadata={"source": path.name}))
    return docs


def client(persist_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    persist_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(persist_dir),
                                     settings=ChromaSettings(anonymized_telemetry=False))


def build(files: list[Path], persist_dir: Path, embeddings: E5Embeddings,
          chunk_size: int = CHUNK_SIZE, chunk_overlap: int = CHUNK_OVERLAP) -> dict:
    """Read, split, `Chroma.from_documents`; adds to the collection if it already exists."""
    from langchain_chroma import Chroma

    started = time.perf_counter()
    docs = load_documents(files)
    read_s = time.perf_counter() - started
    t0 = time.perf_counter()
    chunks = splitter(chunk_size, chunk_overlap).split_documents(docs)
    split_s = time.perf_counter() - t0
    embed_before = embeddings.seconds
    t0 = time.perf_counter()
    Chroma.from_documents(chunks, embeddings, collection_name=COLLECTION,
                          client=client(persist_dir))
    store_s = time.perf_counter() - t0
    wall = time.perf_counter() - started
    embed_s = embeddings.seconds - embed_before
    return {"documents": len(docs), "chunks": len(chunks),
            "chars": sum(len(d.page_content) for d in docs),
            "chunk_chars": sum(len(c.page_content) for c in chunks),
            "wall_s": round(wall, 3), "embed_s": round(embed_s, 3),
            "stages_s": {"read": round(read_s, 3), "split": round(split_s, 3),
                         "chroma_write": round(store_s - embed_s, 3)}}


def open_store(persist_dir: Path, embeddings: E5Embeddings):
    from langchain_chroma import Chroma

    if not (persist_dir / "chroma.sqlite3").exists():
        raise FileNotFoundError(f"no baseline vector store at {persist_dir}; build it with "
                                "`cppcc-kb bench ingest --data DIR` (it writes DIR-langchain)")
    return Chroma(collection_name=COLLECTION, embedding_function=embeddings,
                  client=client(persist_dir), create_collection_if_not_exists=False)


def retriever(store, k: int = 5):
    return store.as_retriever(search_kwargs={"k": k})


def copy_from_ours(settings, persist_dir: Path) -> int:
    """A LangChain store holding our chunks with the vectors already in our store, for timing
    the plain retriever where building the real baseline would re-embed for an hour (the full
    scale corpus). Its latency depends on the store's size and the query embedding, not on how
    the chunks were cut. Returns the number of chunks copied."""
    from ingest.store import Store

    source = Store(settings).chunks
    target = client(persist_dir).get_or_create_collection(COLLECTION, embedding_function=None)
    total, offset, page = source.count(), 0, 2000
    while offset < total:
        got = source.get(include=["embeddings", "documents", "metadatas"], limit=page,
                         offset=offset)
        metas = [{"source": m.get("source", "")} for m in got["metadatas"]]
        target.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                   metadatas=metas)
        offset += page
    return target.count()
