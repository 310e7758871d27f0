#!/usr/bin/env python3
"""Decode and prefill speed of llama.cpp (llama-cpp-python) on a GGUF, beside `sigma-eval bench`.

A speed baseline only (DESIGN.md section 8): the same GGUF, the same thread count and the same
context lengths, llama.cpp and sigma-eval alternating round by round, so that both see the same
minutes of a shared host. Each llama.cpp figure is the mean of `--steps` one-token decode steps
after a prefill to the context length (KV cache f16, the library's default; flash attention on or
off as --flash-attn says), and the prefill rate of 64 tokens from an empty cache. The sigma-eval
figures are those its bench prints (bf16 KV cache, read bandwidth measured beside each repetition).

Setup (not part of the product; llama-cpp-python's source distribution builds llama.cpp here):
    python3 -m venv /tmp/lcpp && CMAKE_ARGS=-DGGML_NATIVE=ON /tmp/lcpp/bin/pip install llama-cpp-python
    /tmp/lcpp/bin/python tests/bench/llama_cpp_baseline.py --rounds 4
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def llama_cpp_figures(llm, contexts, steps, prefill_tokens):
    """ms a decode step at each context and prefill tok/s of `prefill_tokens` tokens."""
    vocab = llm.n_vocab()
    out = {}
    # Token ids spread over the vocabulary (no special meaning: only the speed is measured).
    ids = [(1000 + 7919 * i) % vocab for i in range(max(contexts) + steps + 1)]
    for n_ctx in contexts:
        llm.reset()
        llm.eval(ids[:n_ctx])
        start = time.perf_counter()
        for s in range(steps):
            llm.eval([ids[n_ctx + s]])
        out[n_ctx] = (time.perf_counter() - start) * 1000.0 / steps
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids[:prefill_tokens])
    prefill = prefill_tokens / (time.perf_counter() - start)
    return out, prefill


def sigma_eval_figures(binary, model, contexts, steps, threads):
    """ms a decode step, % of the read bound, and prefill tok/s from one `sigma-eval bench` run."""
    with tempfile.TemporaryDirectory() as scratch:  # its database: not the user's results
        cmd = [binary, "bench", "--models", model, "--contexts", ",".join(map(str, contexts)),
               "--reps", "4", "--decode-steps", str(steps), "--threads", str(threads),
               "--db", os.path.join(scratch, "bench.db")]
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
    decode = {}
    for m in re.finditer(r"decode ctx (\d+) batch 1: [\d.]+ tok/s, ([\d.]+) ms/step.*?"
                         r"read bandwidth ([\d.]+) GB/s \(([\d.]+)% of it\)", text):
        decode[int(m.group(1))] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    prefill = re.search(r"prefill (\d+) tokens: ([\d.]+) tok/s", text)
    if prefill is None or len(decode) != len(contexts):
        sys.exit(f"could not read sigma-eval bench's output:\n{text}")
    return decode, float(prefill.group(2))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.path.join(
        root, "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--sigma-eval", default=os.path.join(root, "build/harness/sigma-eval"))
    p.add_argument("--contexts", default="512,4096")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--flash-attn", action="store_true")
    args = p.parse_args()
    contexts = [int(c) for c in args.contexts.split(",")]

    from llama_cpp import Llama  # the baseline's own dependency, imported only here
    llm = Llama(model_path=args.model, n_ctx=max(contexts) + args.steps + 8, n_batch=512,
                n_threads=args.threads, n_threads_batch=args.threads,
                flash_attn=args.flash_attn, verbose=False)

    print(f"model {args.model}, {args.threads} threads, {args.steps} decode steps a figure, "
          f"llama.cpp flash attention {'on' if args.flash_attn else 'off'}")
    print(f"{'round':>5} {'context':>7} {'llama.cpp ms':>12} {'sigma-eval ms':>13} "
          f"{'ratio':>6} {'probe GB/s':>10} {'sigma % read':>12}")
    prefills = []
    for r in range(args.rounds):
        lc, lc_prefill = llama_cpp_figures(llm, contexts, args.steps, 64)
        se, se_prefill = sigma_eval_figures(args.sigma_eval, args.model, contexts, args.steps,
                                            args.threads)
        for n_ctx in contexts:
            ms, gbps, pct = se[n_ctx]
            print(f"{r:>5} {n_ctx:>7} {lc[n_ctx]:>12.3f} {ms:>13.3f} {lc[n_ctx] / ms:>6.2f} "
                  f"{gbps:>10.1f} {pct:>11.1f}%")
        prefills.append((lc_prefill, se_prefill))
    for r, (lc_prefill, se_prefill) in enumerate(prefills):
        print(f"round {r}: prefill of 64 tokens, llama.cpp {lc_prefill:.0f} tok/s, "
              f"sigma-eval {se_prefill:.0f} tok/s")


if __name__ == "__main__":
    main()
