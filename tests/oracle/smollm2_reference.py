#!/usr/bin/env python3
"""Trusted reference for the default model: SmolLM2-135M-Instruct (Q4_1 GGUF) in float64 NumPy.

Test-time oracle only (never used by the product). It reads the GGUF with the PyPI `gguf` package
(GGUFReader + gguf.quants.dequantize), so the dequantization is an independent implementation of
the block formats, and runs a plain float64 Llama forward pass written from the architecture's
definition:

  x = embed[ids]; per layer: h = rmsnorm(x) * w_attn_norm; q, k, v = h Wq^T, h Wk^T, h Wv^T;
  RoPE; causal GQA softmax attention (9 query heads over 3 KV heads, scale 1/sqrt(64));
  x += attn Wo^T; h = rmsnorm(x) * w_ffn_norm; x += (silu(h Wg^T) * (h Wu^T)) Wd^T;
  logits = rmsnorm(x) * w_out_norm @ embed^T (tied embeddings: the file has no output.weight).

RoPE: the GGUF stores q/k rows permuted by llama.cpp's converter so that adjacent row pairs
(2j, 2j+1) of a head form the rotation pairs with frequency base^(-2j/d). This script does NOT undo
the permutation (the engine does); it applies the interleaved pairing to the rows as stored, which
is an independent check of the engine's un-permutation plus rotate-half RoPE.

Prompts are tokenized by sigma-eval's own tokenizer (`sigma-eval tokenize`), and the ids are stored
in the output, so the comparison is about the forward pass only. For each prompt it writes the top-5
next-token ids and log-probs at the last few positions.

usage: python3 tests/oracle/smollm2_reference.py --sigma-eval build/harness/sigma-eval \
           [--model models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf] \
           [--out tests/data/smollm2_reference.json]
Needs: pip install gguf numpy (a venv under /tmp is enough).
"""
import argparse
import json
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

PROMPTS = [
    ("plain", "The capital of France is"),
    ("plain", "def fibonacci(n):\n    if n < 2:\n        return n\n    return"),
    ("plain", "Water boils at a temperature of"),
    ("plain", "1, 2, 3, 4, 5, 6, 7,"),
    ("plain", "Once upon a time, in a small village by the sea, there lived"),
    ("plain", "The quick brown fox jumps over the lazy"),
    ("chat", "What is the largest planet in the solar system?"),
    ("chat", "Write a haiku about autumn leaves."),
]
POSITIONS = 3  # last positions reported per prompt
TOP_K = 8  # ids stored per position (the test checks the top 5; the rest resolve near-ties)


def chat_text(user):
    return ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n")


def tokenize(sigma_eval, model, text):
    out = subprocess.run([sigma_eval, "tokenize", "--model", model, "--text", text],
                         check=True, capture_output=True, text=True).stdout
    return [int(t) for t in json.loads(out)]


class Weights:
    def __init__(self, path):
        self.reader = GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}

    def field(self, key):
        return self.reader.fields[key].contents()

    def get(self, name):
        t = self.tensors[name]
        w = dequantize(t.data, t.tensor_type)
        return np.asarray(w, dtype=np.float64).reshape(tuple(int(d) for d in reversed(t.shape)))


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope_interleaved(x, base):
    """x: [T, heads, d] with rotation pairs (2j, 2j+1) at frequency base^(-2j/d)."""
    t, _, d = x.shape
    inv = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # [d/2]
    ang = np.arange(t, dtype=np.float64)[:, None] * inv[None, :]  # [T, d/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def forward(w, ids, layers, cfg):
    n_q, n_kv, eps, base = cfg["n_q"], cfg["n_kv"], cfg["eps"], cfg["base"]
    x = cfg["embed"][ids]  # [T, hidden]
    t = len(ids)
    mask = np.triu(np.full((t, t), -np.inf), 1)
    for p in layers:
        h = rms_norm(x, p["attn_norm"], eps)
        d = p["q"].shape[0] // n_q
        q = rope_interleaved((h @ p["q"].T).reshape(t, n_q, d), base)
        k = rope_interleaved((h @ p["k"].T).reshape(t, n_kv, d), base)
        v = (h @ p["v"].T).reshape(t, n_kv, d)
        group = n_q // n_kv
        attn = np.empty((t, n_q, d))
        for head in range(n_q):
            kv = head // group
            s = q[:, head, :] @ k[:, kv, :].T / np.sqrt(d) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            attn[:, head, :] = (s / s.sum(axis=-1, keepdims=True)) @ v[:, kv, :]
        x = x + attn.reshape(t, n_q * d) @ p["o"].T
        h = rms_norm(x, p["ffn_norm"], eps)
        g = h @ p["gate"].T
        x = x + ((g / (1.0 + np.exp(-g))) * (h @ p["up"].T)) @ p["down"].T
    return rms_norm(x, cfg["out_norm"], eps) @ cfg["embed"].T  # [T, vocab]


def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigma-eval", required=True)
    ap.add_argument("--model", default="models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", default="tests/data/smollm2_reference.json")
    args = ap.parse_args()

    w = Weights(args.model)
    assert w.field("general.architecture") == "llama"
    assert "output.weight" not in w.tensors, "expected tied embeddings"
    cfg = {
        "n_q": int(w.field("llama.attention.head_count")),
        "n_kv": int(w.field("llama.attention.head_count_kv")),
        "eps": float(w.field("llama.attention.layer_norm_rms_epsilon")),
        "base": float(w.field("llama.rope.freq_base")),
        "embed": w.get("token_embd.weight"),
        "out_norm": w.get("output_norm.weight"),
    }
    names = {"attn_norm": "attn_norm", "ffn_norm": "ffn_norm", "q": "attn_q", "k": "attn_k",
             "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up",
             "down": "ffn_down"}
    layers = [{key: w.get(f"blk.{i}.{g}.weight") for key, g in names.items()}
              for i in range(int(w.field("llama.block_count")))]

    cases = []
    for kind, text in PROMPTS:
        full = chat_text(text) if kind == "chat" else text
        ids = tokenize(args.sigma_eval, args.model, full)
        logp = log_softmax(forward(w, ids, layers, cfg))
        positions = []
        for pos in range(max(0, len(ids) - POSITIONS), len(ids)):
            top = np.argsort(-logp[pos], kind="stable")[:TOP_K]
            positions.append({"position": pos, "top_ids": [int(i) for i in top],
                              "top_logprobs": [float(logp[pos, i]) for i in top]})
        cases.append({"kind": kind, "text": text, "input_ids": ids, "positions": positions})
        print(f"{kind:5s} {len(ids):3d} tokens  top-1 {positions[-1]['top_ids'][0]}"
              f"  {positions[-1]['top_logprobs'][0]:.4f}", file=sys.stderr)

    from importlib.metadata import version
    doc = {
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "computed_with": f"tests/oracle/smollm2_reference.py: gguf {version('gguf')}"
                         f" GGUFReader + gguf.quants.dequantize, numpy {np.__version__}, float64 "
                         "forward, interleaved RoPE on the permuted GGUF q/k rows",
        "top_k": TOP_K,
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
