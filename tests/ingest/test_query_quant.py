"""The pure parts of the mixed-precision query graph: exact 4-bit blocks, smoothing, roles."""

from __future__ import annotations

import numpy as np
from onnx import helper

from ingest.query_quant import q4_blocks, roles, smoothing


def q4_matrix(rng, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A matrix stored the Q4_0 way: per 32 weights an fp16 scale times integers in [-8, 7],
    with -8 where the largest magnitude is."""
    q = rng.integers(-7, 8, size=(rows, cols // 32, 32))
    q[..., 0] = -8
    scale = rng.uniform(0.01, 0.1, size=(rows, cols // 32)).astype(np.float16).astype(np.float32)
    return (q * scale[..., None]).reshape(rows, cols).astype(np.float32), q, scale


def unpack(packed: np.ndarray) -> np.ndarray:
    low, high = packed & 0x0F, packed >> 4
    out = np.empty(packed.shape[:-1] + (32,), np.int16)
    out[..., 0::2], out[..., 1::2] = low, high
    return out - 8


def test_4_bit_blocks_are_recovered_exactly_in_matmulnbits_order():
    weight, q, scale = q4_matrix(np.random.default_rng(0), 3, 64)
    packed, scales = q4_blocks(weight)
    assert packed.shape == (3, 2, 16) and packed.dtype == np.uint8
    assert np.array_equal(unpack(packed), q)  # element 2i in the low nibble, 2i+1 in the high
    assert np.array_equal(scales, scale.reshape(-1))
    restored = (unpack(packed) * scales.reshape(3, 2, 1)).reshape(3, 64)
    assert np.array_equal(restored, weight)


def test_weights_that_are_not_4_bit_blocks_are_left_alone():
    rng = np.random.default_rng(1)
    assert q4_blocks(rng.normal(size=(2, 64)).astype(np.float32)) is None
    weight, _, _ = q4_matrix(rng, 2, 64)
    assert q4_blocks(weight[:, :48]) is None  # not whole blocks
    nudged = weight.copy()
    nudged[1, 5] += 1e-3
    assert q4_blocks(nudged) is None
    assert q4_blocks(np.zeros((1, 32), np.float32)) is not None  # an all-zero block is exact


def test_smoothing_balances_activation_and_weight_ranges():
    act = np.array([100.0, 1.0, 4.0])
    weight = np.array([0.01, 1.0, 0.25])
    s = smoothing(act, weight)
    assert np.allclose(act / s, weight * s)  # alpha 0.5: both sides sqrt(act * weight)
    assert np.allclose(act / s, [1.0, 1.0, 1.0])
    assert np.all(np.isfinite(smoothing(np.array([0.0]), np.array([0.0]))))


def test_roles_come_from_the_shape_of_a_bert_layer():
    nodes = [
        helper.make_node("Attention", ["x", "wqkv", "bqkv", "mask"], ["ctx"], name="att"),
        helper.make_node("MatMul", ["ctx", "wo"], ["ao"], name="attention_output"),
        helper.make_node("SkipLayerNormalization", ["ao", "x", "g", "b"], ["h"], name="ln1"),
        helper.make_node("MatMul", ["h", "w1"], ["up"], name="ffn_up"),
        helper.make_node("BiasGelu", ["up", "b1"], ["act"], name="gelu"),
        helper.make_node("MatMul", ["act", "w2"], ["down"], name="ffn_down"),
        helper.make_node("MatMul", ["down", "w3"], ["other"], name="something_else"),
    ]
    assert roles(nodes) == {"att": "qkv", "attention_output": "attn_out", "ffn_up": "ffn_in",
                            "ffn_down": "ffn_out"}
