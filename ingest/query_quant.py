"""The fused e5 query graph with int8 arithmetic that keeps the exact vectors' neighbours.

The embedding is most of a question's time, and its fp32 weights (85 MB) do not fit this
machine's L3 cache. ONNX Runtime's plain dynamic int8 (`quantize_dynamic`) is fast but quantizes
each activation tensor with one scale, and a few channels of BERT's layer-norm outputs are far
larger than the rest: vectors at cosine ~0.996, and on 400 clause queries over the full-scale
store the fused MRR fell from 0.571 to 0.550. Each kind of matrix is treated by what its input
looks like (measured error per kind, 1 - cosine: output projection of the feed-forward block
9e-4, attention output 4e-4, the others 1-2e-4 once smoothed):

- `qkv` (Attention) and `ffn_in`, whose inputs are layer-norm outputs, are smoothed first
  (SmoothQuant: x·W = (x/s)·(s·W), s = sqrt(max|x| / max|W|) per input channel, max|x| from
  fixed calibration questions), then quantized to int8 as before;
- `ffn_out`, whose input is a GELU output, keeps the model's own 4-bit weights exactly
  (MatMulNBits; activations quantized per block of 32 values);
- `attn_out` stays float: 8 % of the weights.

On 1,200 questions (the dev sets' and clauses of the full-scale store) vectors agree with the
exact ones to cosine >= 0.9994 (median 0.9997), and retrieve as well as they do
(`python -m bench.precision_experiment`). A matrix whose weights are not exact 4-bit blocks
(another model) stays float.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

ALPHA = 0.5  # SmoothQuant's migration strength: half of the activation range moves to W
BLOCK = 32  # weights per Q4_0 block, the bundled model's format
# Calibration only needs the activations' per-channel ranges: questions of every shape the bot
# sees (figures, dates, names, follow-ups, English, bare keywords). Not the agreement probes.
CALIBRATION = (
    "全国政协十四届三次会议什么时候开幕？", "政协章程规定委员有哪些权利？", "民主监督的主要形式是什么？",
    "谁担任全国政协主席？", "2024年提交了多少件提案？", "立法法第十条是怎么规定的", "数据安全法自何时起施行",
    "那2024年呢？", "这个会是哪天开的？", "专门委员会有几个", "乡村振兴 协商 议政 成果",
    "人民代表大会常务委员会的职权", "What is the CPPCC?", "《中华人民共和国宪法》第一条",
    "委员履职档案管理办法", "提案办理满意率是百分之多少", "第三十五条规定了什么", "市政协召开了几次常委会议？",
)


# ---- pure parts: plain arrays in, plain arrays out ------------------------------------------
def q4_blocks(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`weight` [N, K] as MatMulNBits' 4-bit blocks along K (packed [N, K/32, 16] uint8, scales
    [N*K/32] float32), when every block is exactly an fp16 scale times integers in [-8, 7] (how
    Q4_0 stores it: the largest magnitude is -8·scale); None when it is not."""
    n, k = weight.shape
    if k % BLOCK:
        return None
    blocks = weight.reshape(n, k // BLOCK, BLOCK).astype(np.float32)
    peak = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=2)[..., None], 2)[..., 0]
    scale = (-peak / 8).astype(np.float16).astype(np.float32)
    safe = np.where(scale == 0, 1, scale)[..., None]
    q = np.rint(blocks / safe)
    if q.min() < -8 or q.max() > 7 or not np.array_equal(q * scale[..., None], blocks):
        return None
    u = (q + 8).astype(np.uint8)  # MatMulNBits' default zero point is 8
    return u[..., 0::2] | (u[..., 1::2] << 4), scale.reshape(-1)


def smoothing(act_max: np.ndarray, weight_max: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Per input channel s with max|x/s| and max|s·W| balanced; channels never seen active
    (or all-zero weight rows) get s from a floor instead of dividing by zero."""
    act = np.maximum(act_max, 1e-5)
    weight = np.maximum(weight_max, 1e-5)
    return (act ** alpha / weight ** (1 - alpha)).astype(np.float32)


def roles(nodes) -> dict[str, str]:
    """Node name -> qkv | ffn_in | ffn_out | attn_out, read from the graph's shape: a MatMul
    feeding a BiasGelu opens the feed-forward block, one fed by it closes it."""
    producer = {out: n.op_type for n in nodes for out in n.output}
    consumers: dict[str, set[str]] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, set()).add(n.op_type)
    out = {}
    for n in nodes:
        if n.op_type == "Attention":
            out[n.name] = "qkv"
        elif n.op_type == "MatMul":
            if "BiasGelu" in consumers.get(n.output[0], ()):
                out[n.name] = "ffn_in"
            elif producer.get(n.input[0]) == "BiasGelu":
                out[n.name] = "ffn_out"
            elif producer.get(n.input[0]) == "Attention":
                out[n.name] = "attn_out"
    return out


# ---- the graph: ONNX and ONNX Runtime ------------------------------------------------------
_REWRITTEN = ("qkv", "ffn_in", "ffn_out")  # attn_out stays float: only excluded from int8
def write_quantized(src: Path, dst: str, feed: Callable[[str], dict]) -> None:
    """Write the mixed-precision form of the fused fp32 graph `src` to `dst`; `feed(text)` is
    the session input for one question (calibration)."""
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(src))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    kinds = roles(graph.node)
    smoothed = [n for n in graph.node if kinds.get(n.name) in ("qkv", "ffn_in")]
    act_max = _calibrated_ranges(model, sorted({n.input[0] for n in smoothed}), feed)
    nodes, added = [], []
    for node in graph.node:
        kind = kinds.get(node.name)
        w = numpy_helper.to_array(weights[node.input[1]]) if kind in _REWRITTEN else None
        if kind in ("qkv", "ffn_in"):
            s = smoothing(act_max[node.input[0]], np.abs(w).max(axis=1))
            inverse, scaled_in = node.name + "/smooth_inverse", node.name + "/smoothed_input"
            added.append(numpy_helper.from_array((1 / s).astype(np.float32), inverse))
            nodes.append(helper.make_node("Mul", [node.input[0], inverse], [scaled_in],
                                          name=node.name + "/smooth"))
            weights[node.input[1]].CopyFrom(
                numpy_helper.from_array((w * s[:, None]).astype(np.float32), node.input[1]))
            node.input[0] = scaled_in
        elif kind == "ffn_out" and (blocks := q4_blocks(w.T)) is not None:
            packed, scales = blocks
            added += [numpy_helper.from_array(packed, node.name + "/q4"),
                      numpy_helper.from_array(scales, node.name + "/q4_scales")]
            node = helper.make_node(
                "MatMulNBits", [node.input[0], node.name + "/q4", node.name + "/q4_scales"],
                list(node.output), name=node.name, domain="com.microsoft",
                K=w.shape[0], N=w.shape[1], bits=4, block_size=BLOCK,
                accuracy_level=4)  # int8 activations per block: the fast kernel
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used] + added
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # The fused ops come from ONNX Runtime's own domain, which shape inference cannot type:
    # their outputs are float32, said outright.
    from ingest.onnx_query import without_preprocess_advice

    with without_preprocess_advice():
        quantize_dynamic(model, dst, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         nodes_to_exclude=[n for n, k in kinds.items() if k == "attn_out"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _calibrated_ranges(model, tensors: list[str], feed: Callable[[str], dict]
                       ) -> dict[str, np.ndarray]:
    """max |value| per channel of each tensor over the calibration questions."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    outputs = len(model.graph.output)
    model.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None)
                              for t in tensors)
    try:
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
    finally:
        del model.graph.output[outputs:]
    ranges = {t: np.zeros(0, np.float32) for t in tensors}
    for text in CALIBRATION:
        for name, value in zip(tensors, session.run(tensors, feed(text))):
            peak = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            ranges[name] = np.maximum(ranges[name], peak) if ranges[name].size else peak
    return ranges
