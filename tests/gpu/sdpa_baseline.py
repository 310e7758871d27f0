#!/usr/bin/env python3
"""Optional PyTorch SDPA decode-attention baseline for tests/gpu/run_device_checks.sh.

Times torch.nn.functional.scaled_dot_product_attention for one decode query per sequence over a
bf16 KV cache (GQA16: 32 query heads, 16 KV heads, head_dim 64; K/V expanded to the query heads
with repeat_interleave beforehand, outside the timing, since SDPA's enable_gqa is not available
on every torch), at batch 1 and 16 and contexts 4K-128K, with CUDA events over CUDA-graph
replays, median of 20. Writes JSON lines {"batch", "ctx", "us"} to the path given as argv[1].
Exits with status 3 (and says why) when torch or a CUDA device is missing.
"""
import json
import sys


def main() -> int:
    out_path = sys.argv[1] if len(sys.argv) > 1 else "sdpa.jsonl"
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means no baseline
        print(f"sdpa_baseline: torch not importable ({e}); no PyTorch baseline", file=sys.stderr)
        return 3
    if not torch.cuda.is_available():
        print("sdpa_baseline: torch sees no CUDA device; no PyTorch baseline", file=sys.stderr)
        return 3
    n_q, n_kv, hd = 32, 16, 64
    results = []
    for batch in (1, 16):
        for ctx in (4096, 16384, 32768, 65536, 131072):
            try:
                q = torch.randn(batch, n_q, 1, hd, device="cuda", dtype=torch.bfloat16)
                k = torch.randn(batch, n_kv, ctx, hd, device="cuda", dtype=torch.bfloat16)
                v = torch.randn(batch, n_kv, ctx, hd, device="cuda", dtype=torch.bfloat16)
                gqa = True
                try:
                    F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                except TypeError:
                    gqa = False
                    k = k.repeat_interleave(n_q // n_kv, dim=1)
                    v = v.repeat_interleave(n_q // n_kv, dim=1)

                def step():
                    if gqa:
                        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                    return F.scaled_dot_product_attention(q, k, v)

                for _ in range(3):
                    step()
                torch.cuda.synchronize()
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    step()
                times = []
                for _ in range(20):
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    graph.replay()
                    end.record()
                    end.synchronize()
                    times.append(start.elapsed_time(end) * 1000.0)
                times.sort()
                rec = {"batch": batch, "ctx": ctx, "us": times[len(times) // 2], "enable_gqa": gqa}
                results.append(rec)
                print(json.dumps(rec), flush=True)
                del q, k, v, graph
                torch.cuda.empty_cache()
            except Exception as e:  # noqa: BLE001 - report and continue with other shapes
                print(f"sdpa_baseline: batch {batch} ctx {ctx} failed: {e}", file=sys.stderr)
    with open(out_path, "w") as f:
        for rec in results:
            f.write(json.dumps(rec) + "\n")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
