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
from gguf import GGMLQuantizationType, GGUFReader, quants


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in", dest="src", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    data = open(args.src, "rb").read()
    reader = GGUFReader(args.src)
    # The header and keys end where the first tensor's info begins; they are kept byte for byte.
    kv_end = min(t.field.offset for t in reader.tensors)
    head = bytearray(data[:kv_end])
    body = bytearray()
    for t in reader.tensors:
        raw = data[t.data_offset:t.data_offset + t.n_bytes]
        qtype = t.tensor_type
        if qtype != GGMLQuantizationType.F32:
            raw = quants.dequantize(np.frombuffer(raw, dtype=np.uint8), qtype).astype("<f4").tobytes()
            qtype = GGMLQuantizationType.F32
        body += b"\0" * (-len(body) % reader.alignment)
        name = t.name.encode()
        dims = [int(d) for d in t.field.parts[3]]  # as stored: innermost first
        head += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(dims))
        head += struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", qtype, len(body))
        body += raw
    head += b"\0" * (-len(head) % reader.alignment)
    with open(args.out, "wb") as f:
        f.write(head + body)
    converted = sum(t.tensor_type != GGMLQuantizationType.F32 for t in reader.tensors)
    print(f"wrote {args.out}: {len(reader.tensors)} tensors, {converted} to f32", file=sys.stderr)


if __name__ == "__main__":
    main()
