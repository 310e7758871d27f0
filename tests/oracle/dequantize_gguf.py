#!/usr/bin/env python3
"""Copies a GGUF file with every tensor in f32, dequantized by the `gguf` PyPI package.

Test-time oracle only (never used by the product): the `gguf` package's decoders are an
implementation of the block formats independent of this project's, so that llama.cpp's logits of
the copy (tests/oracle/llama3_rope_reference.py, f32 weights and activations) are the logits of the
quantized file's exact values (bf16 and f16 tensors become f32 too: llama.cpp rounds the
activations of a bf16 matrix to bf16). tests/engine/gpt_oss_test.cc compares the engine's logits of an
MXFP4 file with those:

  build/harness/sigma-eval make-model --config tests/data/moe/gpt_oss_gguf.json --seed 5 --out /tmp/g
  build/harness/sigma-eval convert --in /tmp/g --out /tmp/g_mxfp4.gguf --type mxfp4
  python3 tests/oracle/dequantize_gguf.py --in /tmp/g_mxfp4.gguf --out /tmp/g_mxfp4_f32.gguf
  python3 tests/oracle/llama3_rope_reference.py --gguf /tmp/g_mxfp4_f32.gguf \\
      --out tests/data/moe/gpt_oss_gguf_mxfp4_llama_cpp.f32

Keys are copied byte for byte (general.file_type may then name the source's type); tensors keep
their names, shapes and order.
Needs: pip install gguf numpy.
"""
import argparse
import struct
import sys

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, quants

SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in", dest="src", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data = open(args.src, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return value

    def skip_value(kind):
        nonlocal pos
        if kind == 8:
            length = take("Q")  # (not `pos += take(...)`: that adds to pos as it was before)
            pos += length
        elif kind == 9:
            element, count = take("I"), take("Q")
            for _ in range(count):
                skip_value(element)
        else:
            pos += SIZES[kind]

    if take("I") != 0x46554747 or take("I") != 3:
        sys.exit("not a GGUF v3 file")
    n_tensors, n_kv = take("Q"), take("Q")
    alignment = 32
    for _ in range(n_kv):
        length = take("Q")
        key = data[pos:pos + length].decode()
        pos += length
        kind = take("I")
        start = pos
        skip_value(kind)
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, start)[0]
    kv_end = pos
    infos = []
    for _ in range(n_tensors):
        length = take("Q")
        name = data[pos:pos + length]
        pos += length
        dims = [take("Q") for _ in range(take("I"))]
        infos.append((name, dims, GGMLQuantizationType(take("I")), take("Q")))
    data_start = -(-pos // alignment) * alignment
    head = bytearray(data[:kv_end])
    body = bytearray()
    for name, dims, qtype, offset in infos:
        block, block_bytes = GGML_QUANT_SIZES[qtype]
        nbytes = int(np.prod(dims)) // block * block_bytes
        raw = data[data_start + offset:data_start + offset + nbytes]
        if qtype != GGMLQuantizationType.F32:
            raw = quants.dequantize(np.frombuffer(raw, dtype=np.uint8), qtype).astype("<f4").tobytes()
            qtype = GGMLQuantizationType.F32
        body += b"\0" * (-len(body) % alignment)
        head += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(dims))
        head += struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", qtype, len(body))
        body += raw
    head += b"\0" * (-len(head) % alignment)
    with open(args.out, "wb") as f:
        f.write(head + body)
    converted = sum(q != GGMLQuantizationType.F32 for _, _, q, _ in infos)
    print(f"wrote {args.out}: {n_tensors} tensors, {converted} to f32", file=sys.stderr)


if __name__ == "__main__":
    main()
