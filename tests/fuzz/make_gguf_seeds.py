#!/usr/bin/env python3
"""Writes the small seed files of tests/fuzz/corpus/gguf/ with the `gguf` package (test-time only).

  /tmp/tokvenv/bin/pip install gguf numpy && /tmp/tokvenv/bin/python tests/fuzz/make_gguf_seeds.py
"""
import os

import gguf
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "gguf")


def byte_tokens():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for b, c in sorted(zip(bs, cs))]


def add_byte_bpe_vocabulary(w, specials, pre):
    """A gpt2-type vocabulary: two special tokens, the 256 byte tokens and "Hello"'s merges."""
    tokens = specials + byte_tokens() + ["He", "ll", "Hell", "Hello"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types([3, 3] + [1] * (len(tokens) - 2))
    w.add_token_merges(["H e", "l l", "He ll", "Hell o"])
    return tokens


def iq4_bytes(rng, shape, qtype):
    """Random IQ4 blocks for a matrix of `shape` (rows, cols), each block's f16 scale small."""
    size, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(shape[0], shape[1] // size, nbytes), dtype=np.uint8)
    raw[:, :, 0:2] = np.frombuffer(np.float16(0.002).tobytes(), dtype=np.uint8)
    return raw.reshape(shape[0], -1)


def llama_model(path, arch="llama", tokenizer="gpt2", rope_freqs=False, experts=False, iq4=False):
    """experts: a qwen2moe file (4 experts of width 8, 2 a token, a shared expert) in place of the
    dense FFN. iq4: hidden 32 and FFN 256, the attention and FFN up matrices IQ4_NL, the FFN down
    IQ4_XS (random blocks)."""
    if experts:
        arch = "qwen2moe"
    hidden, width = (32, 256) if iq4 else (8, 8)
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_block_count(1)
    w.add_feed_forward_length(width)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    if experts:
        w.add_expert_count(4)
        w.add_expert_used_count(2)
        w.add_uint32(f"{arch}.expert_feed_forward_length", 8)
        w.add_uint32(f"{arch}.expert_shared_feed_forward_length", 8)
    if rope_freqs:  # llama3 scaling: divisors [1, 8] for head_dim 4, and sigma-eval's keys for them
        w.add_float32("sigma.rope.llama3.factor", 8.0)
        w.add_float32("sigma.rope.llama3.low_freq_factor", 1.0)
        w.add_float32("sigma.rope.llama3.high_freq_factor", 4.0)
        w.add_uint32("sigma.rope.llama3.original_context_length", 64)
    if tokenizer == "gpt2":
        tokens = add_byte_bpe_vocabulary(w, ["<|im_start|>", "<|im_end|>"], "smollm")
    else:
        tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["\u2581", "\u2581H", "ello"]
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores([0.0] * (len(tokens) - 3) + [-1.0, -2.0, -3.0])
        w.add_token_types([2, 3, 3] + [6] * 256 + [1, 1, 1])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    vocab = len(tokens)
    rng = np.random.default_rng(1)
    w.add_tensor("token_embd.weight", rng.standard_normal((vocab, hidden)).astype(np.float16))
    w.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    if rope_freqs:
        w.add_tensor("rope_freqs.weight", np.array([1.0, 8.0], np.float32))
    ffn = [("ffn_gate", (8, 8)), ("ffn_up", (8, 8)), ("ffn_down", (8, 8))]
    if experts:  # gguf writes numpy shapes reversed, as the stacked [experts, rows, cols] wants
        ffn = [("ffn_gate_inp", (4, 8)), ("ffn_gate_exps", (4, 8, 8)), ("ffn_up_exps", (4, 8, 8)),
               ("ffn_down_exps", (4, 8, 8)), ("ffn_gate_inp_shexp", (8,)),
               ("ffn_gate_shexp", (8, 8)), ("ffn_up_shexp", (8, 8)), ("ffn_down_shexp", (8, 8))]
    if iq4:
        nl, xs = gguf.GGMLQuantizationType.IQ4_NL, gguf.GGMLQuantizationType.IQ4_XS
        for name, shape, qtype in [("attn_q", (32, 32), nl), ("attn_k", (16, 32), nl),
                                   ("attn_v", (16, 32), nl), ("attn_output", (32, 32), nl),
                                   ("ffn_gate", (256, 32), nl), ("ffn_up", (256, 32), nl),
                                   ("ffn_down", (32, 256), xs)]:
            w.add_tensor(f"blk.0.{name}.weight", iq4_bytes(rng, shape, qtype), raw_dtype=qtype)
        ffn = []
    for name, shape in [("attn_norm", (hidden,)), ("ffn_norm", (hidden,))] + (
            [] if iq4 else [("attn_q", (8, 8)), ("attn_k", (4, 8)), ("attn_v", (4, 8)),
                            ("attn_output", (8, 8))]) + ffn:
        w.add_tensor(f"blk.0.{name}.weight", rng.standard_normal(shape).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gpt_oss_model(path):
    """A gpt-oss file as llama.cpp writes one: attention sinks and biases, a window in layer 0,
    YaRN, 4 experts of width 32 (2 a token) in MXFP4 with their biases, the o200k pre-tokenizer,
    tied embeddings (the file stays under 64 KB, gguf_fuzz's -max_len)."""
    w = gguf.GGUFWriter(path, "gpt-oss")
    w.add_context_length(64)
    w.add_embedding_length(32)
    w.add_block_count(2)
    w.add_feed_forward_length(32)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_key_length(16)
    w.add_value_length(16)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(150000.0)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(4.0)
    w.add_rope_scaling_orig_ctx_len(16)
    w.add_sliding_window(8)
    w.add_expert_count(4)
    w.add_expert_used_count(2)
    w.add_expert_feed_forward_length(32)
    tokens = add_byte_bpe_vocabulary(w, ["<|start|>", "<|end|>"], "gpt-4o")
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    rng = np.random.default_rng(2)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    f16 = lambda *shape: f32(*shape).astype(np.float16)  # matrices: under 64 KB in all
    w.add_tensor("token_embd.weight", f16(len(tokens), 32))
    w.add_tensor("output_norm.weight", np.ones(32, np.float32))
    for layer in range(2):
        p = f"blk.{layer}."
        for name, shape in [("attn_norm.weight", (32,)), ("post_attention_norm.weight", (32,)),
                            ("attn_q.weight", (32, 32)), ("attn_q.bias", (32,)),
                            ("attn_k.weight", (16, 32)), ("attn_k.bias", (16,)),
                            ("attn_v.weight", (16, 32)), ("attn_v.bias", (16,)),
                            ("attn_output.weight", (32, 32)), ("attn_output.bias", (32,)),
                            ("attn_sinks.weight", (2,)), ("ffn_gate_inp.weight", (4, 32)),
                            ("ffn_gate_inp.bias", (4,)), ("ffn_gate_exps.bias", (4, 32)),
                            ("ffn_up_exps.bias", (4, 32)), ("ffn_down_exps.bias", (4, 32))]:
            matrix = len(shape) == 2 and name.startswith("attn")
            w.add_tensor(p + name, f16(*shape) if matrix else f32(*shape))
        for name in ("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"):
            blocks = gguf.quants.quantize(f32(4, 32, 32), gguf.GGMLQuantizationType.MXFP4)
            w.add_tensor(p + name + ".weight", blocks, raw_dtype=gguf.GGMLQuantizationType.MXFP4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    gpt_oss_model(os.path.join(OUT, "gpt_oss_mxfp4.gguf"))
    llama_model(os.path.join(OUT, "llama_gpt2_tokenizer.gguf"))
    llama_model(os.path.join(OUT, "llama_spm_tokenizer.gguf"), tokenizer="llama")
    llama_model(os.path.join(OUT, "llama_rope_freqs.gguf"), rope_freqs=True)
    llama_model(os.path.join(OUT, "qwen2moe_experts.gguf"), experts=True)
    llama_model(os.path.join(OUT, "llama_iq4.gguf"), iq4=True)
    with open(os.path.join(OUT, "header_only.gguf"), "wb") as f:
        f.write(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))


if __name__ == "__main__":
    main()
