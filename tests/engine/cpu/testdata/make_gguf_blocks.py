"""Writes gguf_blocks.bin: random GGUF quantized blocks and their values as decoded by the `gguf`
Python package (the reference implementation of the format), for DequantizeRow tests; and
gguf_quantized.bin: float blocks and the package's MXFP4, Q5_0, Q5_1, Q8_0, Q4_0 and Q4_1
quantizations of them (those of ggml's reference quantizer), for QuantizeRow's.

gguf_blocks.bin, little-endian, per type: u32 sigma DType code, u32 n_blocks, u32 block_bytes,
n_blocks * block_bytes raw bytes, then n_blocks * block_size f32 values.
gguf_quantized.bin: the same header, then n_blocks * block_size f32 inputs, then the
n_blocks * block_bytes quantized bytes.
Run: pip install gguf numpy && python3 make_gguf_blocks.py
"""
import struct

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import quants

# (sigma DType code in engine/dtype.h, ggml type, block size, block bytes, offsets of f16 scales)
TYPES = [
    (3, Q.Q8_0, 32, 34, [0]),
    (4, Q.Q4_0, 32, 18, [0]),
    (5, Q.Q4_1, 32, 20, [0, 2]),
    (6, Q.Q4_K, 256, 144, [0, 2]),
    (7, Q.Q5_0, 32, 22, [0]),
    (8, Q.Q5_1, 32, 24, [0, 2]),
    (9, Q.Q5_K, 256, 176, [0, 2]),
    (10, Q.Q6_K, 256, 210, [208]),
    (12, Q.Q2_K, 256, 84, [80, 82]),
    (13, Q.Q3_K, 256, 110, [108]),
    (14, Q.MXFP4, 32, 17, []),  # its scale byte: an E8M0 exponent (below)
    (15, Q.IQ4_NL, 32, 18, [0]),
    (16, Q.IQ4_XS, 256, 136, [0]),
]
MXFP4_CODE = 14

rng = np.random.default_rng(1234)
with open("gguf_blocks.bin", "wb") as out:
    for code, qtype, size, nbytes, scale_offsets in TYPES:
        n_blocks = 6
        raw = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
        for b in range(n_blocks):
            for off in scale_offsets:
                scale = np.float16(rng.uniform(0.001, 0.05) * rng.choice([-1.0, 1.0]))
                raw[b, off:off + 2] = np.frombuffer(scale.tobytes(), dtype=np.uint8)
            if code == MXFP4_CODE:
                raw[b, 0] = rng.integers(112, 128)  # 2^-15 .. 2^0
        values = quants.dequantize(raw.reshape(-1), qtype).astype(np.float32).reshape(-1)
        assert values.size == n_blocks * size
        out.write(struct.pack("<III", code, n_blocks, nbytes))
        out.write(raw.tobytes())
        out.write(values.tobytes())

# MXFP4 quantization: blocks of varied magnitudes, with exact E2M1 values and ties between them,
# zeros and an all-zero block.
with open("gguf_quantized.bin", "wb") as out:
    n_blocks = 16
    x = (rng.standard_normal((n_blocks, 32)) * np.exp2(rng.integers(-12, 6, size=(n_blocks, 1)))).astype(np.float32)
    x[3] = 0
    x[4, :8] = [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, -5.0]  # halfway between E2M1 values
    x[4, 8] = 6.0
    x[5, 0] = 0
    q = quants.quantize(x, Q.MXFP4)
    out.write(struct.pack("<III", MXFP4_CODE, n_blocks, 17))
    out.write(x.tobytes())
    out.write(q.tobytes())
    # Q5_0, Q5_1, Q8_0, Q4_0, Q4_1: the same blocks and all-negative, all-positive and constant ones.
    x5 = np.concatenate([x, -np.abs(x[:4]) - 1, np.abs(x[4:8]) + 1, np.full((2, 32), 0.75, np.float32)])
    for code, qtype, nbytes in [(7, Q.Q5_0, 22), (8, Q.Q5_1, 24), (3, Q.Q8_0, 34), (4, Q.Q4_0, 18),
                                (5, Q.Q4_1, 20)]:
        out.write(struct.pack("<III", code, x5.shape[0], nbytes))
        out.write(x5.astype(np.float32).tobytes())
        out.write(quants.quantize(x5.astype(np.float32), qtype).tobytes())
