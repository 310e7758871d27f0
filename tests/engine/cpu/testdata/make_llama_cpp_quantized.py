"""Writes llama_cpp_quantized.bin: float rows and llama.cpp's IQ4_NL, IQ4_XS, Q4_K, Q5_K, Q6_K,
Q3_K and Q2_K quantizations of them (ggml_quantize_chunk without an importance matrix, as
llama-quantize calls it), for QuantizeRow's tests (tests/engine/gguf/quantize_test.cc).

Per type, little-endian: u32 sigma DType code (engine/dtype.h), u32 n_blocks, u32 block_bytes,
the n_blocks * block_size f32 inputs, then the n_blocks * block_bytes quantized bytes.
Run: pip install llama-cpp-python numpy && python3 make_llama_cpp_quantized.py
(llama-cpp-python 0.3.36 wrote the committed file.)
"""
import ctypes
import glob
import os
import struct

import llama_cpp
import numpy as np

# (sigma DType code in engine/dtype.h, ggml type, block size, block bytes)
TYPES = [(15, 20, 32, 18), (16, 23, 256, 136),  # IQ4_NL, IQ4_XS
         (6, 12, 256, 144), (9, 13, 256, 176), (10, 14, 256, 210),  # Q4_K, Q5_K, Q6_K
         (13, 11, 256, 110), (12, 10, 256, 84)]  # Q3_K, Q2_K

lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")
ggml = ctypes.CDLL(glob.glob(os.path.join(lib_dir, "libggml-base.so*"))[0])
ggml.ggml_quantize_chunk.restype = ctypes.c_size_t
ggml.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]

# 24 rows of 256: magnitudes 2^-14 .. 2^6 by row and a factor of up to 8 between blocks of 32, a
# few outliers; a row of zeros, a row with two zero blocks, a row of table values (exact fits), a
# row of one repeated value and one with a single non-zero.
rng = np.random.default_rng(4321)
rows = 24
x = rng.standard_normal((rows, 256)) * np.exp2(rng.integers(-14, 7, size=(rows, 1)))
x *= np.repeat(np.exp2(rng.uniform(-3, 0, size=(rows, 8))), 32, axis=1)
x[rng.integers(0, rows, 12), rng.integers(0, 256, 12)] *= 20
x[3] = 0
x[4, 32:96] = 0
x[5] = np.resize([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], 256) * 0.01
x[6] = 0.5
x[7] = 0
x[7, 77] = -3.0
x = x.astype(np.float32)

with open("llama_cpp_quantized.bin", "wb") as out:
    for code, ggml_type, size, nbytes in TYPES:
        n_blocks = x.size // size
        dst = np.zeros(n_blocks * nbytes, dtype=np.uint8)
        written = ggml.ggml_quantize_chunk(ggml_type, x.ctypes.data, dst.ctypes.data, 0, rows, 256, None)
        assert written == dst.size, (written, dst.size)
        out.write(struct.pack("<III", code, n_blocks, nbytes))
        out.write(x.tobytes())
        out.write(dst.tobytes())
