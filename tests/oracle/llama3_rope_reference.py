#!/usr/bin/env python3
"""Trusted reference for GGUF files: llama.cpp's logits of a tiny model (Llama 3 rope scaling, Qwen3).

Test-time oracle only (never used by the product). llama.cpp (through the PyPI package
llama-cpp-python) runs the GGUF that `sigma-eval convert` writes from a random-weight checkpoint
whose config.json has llama3 rope_scaling; the scaling reaches llama.cpp only as the per-frequency
divisors in tensor rope_freqs.weight, which it applies itself (ggml_rope_ext's freq_factors). The
C++ test (tests/engine/gguf/convert_test.cc) rebuilds the same checkpoint (make-model is seeded and
portable) and compares the engine's logits of both the folder (Hugging Face's llama3 formula) and
the GGUF (the divisors) with these.

The same script gives tests/data/qwen3/llama_cpp_logits.f32 from the f32 GGUF of
tests/data/qwen3/config.json (make-model seed 5): llama.cpp's qwen3 reads its q/k norms
(blk.N.attn_q_norm / attn_k_norm) and head_dim (qwen3.attention.key_length) as convert writes them
(tests/engine/qwen3_test.cc); and tests/data/phi3/llama_cpp_logits.f32 from that of
tests/data/phi3/config.json: fused attn_qkv / ffn_up, partial RoPE, longrope's factor tensors
(tests/engine/phi3_test.cc); and tests/data/gemma/<name>_llama_cpp.f32 from those of
tests/data/gemma/{gemma,gemma2,gemma3}.json (gemma2 with query_pre_attn_scalar 32): norms stored
as 1 + w, sandwich norms, soft-capping keys, the sliding layers' pattern and RoPE base
(tests/engine/gemma_test.cc); and tests/data/granite/llama_cpp_logits.f32 from that of
tests/data/granite/config.json: granite's four scalars and q/k permutation
(tests/engine/granite_test.cc); and tests/data/smollm3/llama_cpp_logits.f32 from that of
tests/data/smollm3/config.json (every 4th layer NoPE; tests/engine/smollm3_test.cc); and
tests/data/olmo2/llama_cpp_logits.f32 from that of tests/data/olmo2/config.json
(tests/engine/olmo2_test.cc); likewise tests/data/yarn (YaRN rope scaling:
llama.rope.scaling.type yarn, factor and original_context_length; tests/engine/yarn_test.cc) and
tests/data/olmo3 (its config without the rope scaling: olmo2 with a window;
tests/engine/olmo3_test.cc).

The model has no tokenizer, so this script first copies the GGUF adding tokenizer.ggml.model =
"none" (llama.cpp then loads it without a vocabulary) and feeds token ids 1..70. llama.cpp runs
with an f32 KV cache and no flash attention, on the f32 weights of `convert --type f32`.

usage:
  build/harness/sigma-eval make-model --config tests/data/llama3_rope/config.json --seed 3 \\
      --out /tmp/llama3_rope
  build/harness/sigma-eval convert --in /tmp/llama3_rope --out /tmp/llama3_rope.gguf --type f32
  python3 tests/oracle/llama3_rope_reference.py --gguf /tmp/llama3_rope.gguf \\
      --out tests/data/llama3_rope/llama_cpp_logits.f32
Needs: pip install llama-cpp-python numpy (a venv under /tmp is enough; see
tests/bench/llama_cpp_baseline.py for a native build).
"""
import argparse
import struct
import sys

import numpy as np

IDS = list(range(1, 71))
ROWS = list(range(0, 70, 7)) + [69]  # positions whose logits are stored

# GGUF value type -> bytes (fixed-size types); 8 = string, 9 = array.
SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def with_empty_vocabulary(data: bytes) -> bytes:
    """The GGUF `data` with one more key, tokenizer.ggml.model = "none"; tensors byte for byte."""
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize("<" + fmt)
        return value

    def skip_value(kind):
        nonlocal pos
        if kind == 8:
            length = take("Q")
            pos += length
        elif kind == 9:
            element, count = take("I"), take("Q")
            for _ in range(count):
                skip_value(element)
        else:
            pos += SIZES[kind]

    if take("I") != 0x46554747 or take("I") != 3:
        sys.exit("not a GGUF v3 file")
    n_tensors = take("Q")
    count_at = pos
    n_kv = take("Q")
    alignment = 32
    for _ in range(n_kv):
        key_length = take("Q")
        key = data[pos:pos + key_length].decode()
        pos += key_length
        kind = take("I")
        start = pos
        skip_value(kind)
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, start)[0]
    kv_end = pos
    for _ in range(n_tensors):
        name_length = take("Q")
        pos += name_length
        dims = take("I")
        pos += 8 * dims + 4 + 8  # dims, type, offset
    infos_end = pos
    data_start = -(-infos_end // alignment) * alignment
    key, value = b"tokenizer.ggml.model", b"none"
    extra = struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(value)) + value
    head = (data[:count_at] + struct.pack("<Q", n_kv + 1) + data[count_at + 8:kv_end] + extra +
            data[kv_end:infos_end])
    head += b"\0" * (-len(head) % alignment)
    return head + data[data_start:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import llama_cpp  # pylint: disable=import-outside-toplevel

    patched = args.gguf + ".vocab.gguf"
    with open(args.gguf, "rb") as f, open(patched, "wb") as g:
        g.write(with_empty_vocabulary(f.read()))
    model = llama_cpp.Llama(model_path=patched, n_ctx=128, logits_all=True, verbose=False,
                            n_threads=2, type_k=0, type_v=0, flash_attn=False)
    model.eval(IDS)
    logits = np.array(model.scores[:len(IDS)], dtype="<f4")[ROWS]
    logits.tofile(args.out)
    print(f"wrote {args.out}: rows {ROWS} of {logits.shape[1]} logits (llama-cpp-python "
          f"{llama_cpp.__version__})")


if __name__ == "__main__":
    main()
