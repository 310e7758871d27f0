#!/usr/bin/env python3
"""Trusted reference: Hugging Face transformers' logits of a checkpoint folder make-model wrote.

Test-time oracle only (never used by the product). transformers runs the random-weight checkpoints
that `sigma-eval make-model` writes from the configs of these fixtures (seed 5):
- tests/data/sliding_window/{mistral,qwen2}.json: a Mistral whose every layer attends to the last
  21 positions, and a Qwen2 with use_sliding_window whose layer_types make layers 0 and 2 attend
  to the last 7 positions and layer 1 to all of them (tests/engine/sliding_window_test.cc);
- tests/data/qwen3/config.json: a Qwen3 (q/k norms, head_dim 32 with hidden 96, tied embeddings;
  tests/engine/qwen3_test.cc);
- tests/data/phi3/config.json: a Phi-3 (fused qkv_proj and gate_up_proj, RoPE on 18 of 24
  dimensions, longrope scaling, a 29-position sliding window; tests/engine/phi3_test.cc);
- tests/data/phi3/long_context.json: that Phi-3 with an original context of 48 positions (of 192),
  so that 70 ids cross it: transformers rotates a forward pass past it with the long factors,
  and with --prefill 40 the logits are those of a generation (40 ids, then steps), whose steps
  past position 47 rotate long and whose cached rows stay short (tests/engine/phi3_test.cc);
- tests/data/granite/config.json: a Granite (embedding, attention, residual and logit scalars;
  tests/engine/granite_test.cc);
- tests/data/smollm3/config.json: a SmolLM3 (every 4th layer without RoPE;
  tests/engine/smollm3_test.cc);
- tests/data/olmo2/config.json: an OLMo 2 (norms on the blocks' outputs, q/k norms across heads;
  tests/engine/olmo2_test.cc);
- tests/data/yarn/config.json: a Llama with YaRN rope scaling (tests/engine/yarn_test.cc);
- tests/data/olmo3/config.json: an OLMo 3 (windows in three layers of four, YaRN on the others;
  tests/engine/olmo3_test.cc);
- tests/data/gemma/{gemma,gemma2,gemma3}.json: a Gemma, a Gemma 2 (sandwich norms, soft-capped
  scores and logits, query_pre_attn_scalar, a 7-position window in alternate layers) and a Gemma 3
  (q/k norms, two RoPEs, linear scaling on the full layers; tests/engine/gemma_test.cc);
- tests/data/moe/{mixtral,qwen2_moe,qwen3_moe,qwen3_moe_dense_layers,olmoe,granitemoe,gpt_oss}.json:
  mixtures of experts (tests/engine/moe_test.cc), for which the script also prints the smallest
  margin between a chosen and an unchosen expert's probability over every router and position
  (how far the choices are from a tie that rounding could flip); a folder with MXFP4 experts
  (quantization_config mxfp4, tests/data/moe/README.md) transformers dequantizes on a CPU, with
  the accelerate package installed.
The weights are bf16 in the file and float32 in the forward pass, with eager attention (for a
window, the mask transformers builds from sliding_window and layer_types). The C++ tests rebuild
the same checkpoints (make-model is seeded and portable) and compare the engine's logits with
these: token ids 1..70, the logits of positions 0, 5, ..., 65 and 69.

usage:
  build/harness/sigma-eval make-model --config tests/data/sliding_window/mistral.json --seed 5 \\
      --out /tmp/sw_mistral
  python3 tests/oracle/transformers_reference.py --model /tmp/sw_mistral \\
      --out tests/data/sliding_window/mistral_logits.f32
  (likewise qwen2 -> qwen2_logits.f32, tests/data/qwen3/config.json ->
  tests/data/qwen3/transformers_logits.f32, tests/data/phi3/config.json ->
  tests/data/phi3/transformers_logits.f32, tests/data/phi3/long_context.json ->
  tests/data/phi3/long_context_logits.f32 and, with --prefill 40, long_context_stepped_logits.f32,
  tests/data/granite/config.json -> tests/data/granite/transformers_logits.f32 (likewise
  tests/data/smollm3, tests/data/olmo2, tests/data/yarn and tests/data/olmo3),
  tests/data/gemma/<name>.json ->
  tests/data/gemma/<name>_transformers.f32, likewise tests/data/moe/<name>.json)
Needs: pip install torch transformers safetensors numpy (a venv under /tmp is enough).
"""
import argparse
import json
import sys

import numpy as np
import torch
import transformers

IDS = list(range(1, 71))
ROWS = list(range(0, 70, 5)) + [69]  # positions whose logits are stored


def load(folder: str, window: bool = True, softcap: bool = True):
    """The model of `folder` in float32 with eager attention; window=False: the same weights with
    the window switched off; softcap=False: without Gemma 2's soft-capping."""
    config = transformers.AutoConfig.from_pretrained(folder)
    # Phi3Config's default pad_token_id (32000) is past a tiny vocabulary; padding plays no part
    # in a forward pass.
    if getattr(config, "pad_token_id", None) is not None and config.pad_token_id >= config.vocab_size:
        config.pad_token_id = None
    if not window:
        # Gemma's, OLMo 3's and gpt-oss's configs build a sliding mask whatever the layer types:
        # a window wider than any prompt here is none.
        always_masked = "gemma" in config.model_type or config.model_type in ("olmo3", "gpt_oss")
        config.sliding_window = 1 << 20 if always_masked else None
        if hasattr(config, "layer_types"):
            config.layer_types = ["full_attention"] * config.num_hidden_layers
    if not softcap:
        config.attn_logit_softcapping = None
        config.final_logit_softcapping = None
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, config=config, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


def logits(folder: str, **variant) -> np.ndarray:
    """All positions' logits of IDS in one forward pass (`variant`: as load's)."""
    with torch.no_grad():
        out = load(folder, **variant)(torch.tensor([IDS]), use_cache=False)
    return out.logits[0].numpy().astype(np.float32)


def incremental_logits(folder: str, prefill: int) -> np.ndarray:
    """All positions' logits of IDS as generation computes them: one forward over the first
    `prefill` ids, then one id at a time against the cache (longrope decides short or long factors
    at each forward pass from its last position)."""
    model = load(folder)
    rows = []
    with torch.no_grad():
        out = model(torch.tensor([IDS[:prefill]]), use_cache=True)
        rows.append(out.logits[0])
        cache = out.past_key_values
        for i in range(prefill, len(IDS)):
            out = model(torch.tensor([[IDS[i]]]), cache=cache, use_cache=True)
            cache = out.past_key_values
            rows.append(out.logits[0])
    return torch.cat(rows).numpy().astype(np.float32)


def routing_margin(folder: str) -> float:
    """A mixture of experts: over every layer's router and every position of IDS, the smallest gap
    between the k-th and the (k+1)-th expert's probability (how far the choice is from a tie that
    rounding could flip)."""
    model = load(folder)
    k = model.config.num_experts_per_tok
    margins = []

    def hook(module, inputs, output):
        probs = torch.softmax(output[0].float(), dim=-1).sort(dim=-1, descending=True).values
        if probs.shape[-1] > k:
            margins.append((probs[:, k - 1] - probs[:, k]).min().item())

    for name, module in model.named_modules():
        if type(module).__name__.endswith("TopKRouter"):  # transformers 5's routers
            module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.tensor([IDS]), use_cache=False)
    return min(margins)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint folder written by make-model")
    parser.add_argument("--out", required=True, help="float32 logits [len(ROWS), vocab]")
    parser.add_argument("--prefill", type=int, default=0,
                        help="compute the logits as generation does: a forward over this many "
                             "ids, then one id at a time against the cache")
    args = parser.parse_args()
    with open(f"{args.model}/config.json") as f:
        print("config:", json.dumps(json.load(f)), file=sys.stderr)
    full = logits(args.model)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}", file=sys.stderr)
    print(f"max |logit| {np.abs(full).max():.4f}", file=sys.stderr)
    config = transformers.AutoConfig.from_pretrained(args.model)
    if getattr(config, "sliding_window", None):
        unwindowed = logits(args.model, window=False)
        print(f"max |diff| to the same model without the window "
              f"{np.abs(full - unwindowed).max():.4f} (the first 7 positions: "
              f"{np.abs(full[:7] - unwindowed[:7]).max():.2e})", file=sys.stderr)
    if getattr(config, "attn_logit_softcapping", None) or getattr(config, "final_logit_softcapping", None):
        uncapped = logits(args.model, softcap=False)
        print(f"max |diff| to the same model without soft-capping "
              f"{np.abs(full - uncapped).max():.4f}", file=sys.stderr)
    if getattr(config, "num_experts_per_tok", None):
        print(f"smallest margin between a chosen expert's probability and the best unchosen one "
              f"{routing_margin(args.model):.2e}", file=sys.stderr)
    if args.prefill:
        stepped = incremental_logits(args.model, args.prefill)
        print(f"max |diff| of the stepped logits to one forward's "
              f"{np.abs(full - stepped).max():.4f}", file=sys.stderr)
        full = stepped
    full[ROWS].tofile(args.out)
    print(f"wrote {args.out}: {len(ROWS)} rows x {full.shape[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
