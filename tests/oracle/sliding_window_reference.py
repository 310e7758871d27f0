#!/usr/bin/env python3
"""Trusted reference for sliding-window attention: Hugging Face transformers' logits.

Test-time oracle only (never used by the product). transformers runs the random-weight checkpoints
that `sigma-eval make-model` writes from tests/data/sliding_window/{mistral,qwen2}.json (seed 5):
a Mistral whose every layer attends to the last 21 positions, and a Qwen2 with use_sliding_window
whose layer_types make layers 0 and 2 attend to the last 7 positions and layer 1 to all of them.
The weights are bf16 in the file and float32 in the forward pass, with eager attention (the mask
transformers builds from sliding_window and layer_types). The C++ test
(tests/engine/sliding_window_test.cc) rebuilds the same checkpoints (make-model is seeded and
portable) and compares the engine's logits with these.

usage:
  for m in mistral qwen2; do
    build/harness/sigma-eval make-model --config tests/data/sliding_window/$m.json --seed 5 \\
        --out /tmp/sw_$m
    python3 tests/oracle/sliding_window_reference.py --model /tmp/sw_$m \\
        --out tests/data/sliding_window/${m}_logits.f32
  done
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


def logits(folder: str, window: bool) -> np.ndarray:
    """All positions' logits of IDS; window=False: the same weights with the window switched off."""
    config = transformers.AutoConfig.from_pretrained(folder)
    if not window:
        config.sliding_window = None
        if hasattr(config, "layer_types"):
            config.layer_types = ["full_attention"] * config.num_hidden_layers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, config=config, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor([IDS]), use_cache=False)
    return out.logits[0].numpy().astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint folder written by make-model")
    parser.add_argument("--out", required=True, help="float32 logits [len(ROWS), vocab]")
    args = parser.parse_args()
    with open(f"{args.model}/config.json") as f:
        print("config:", json.dumps(json.load(f)), file=sys.stderr)
    full = logits(args.model, window=True)
    unwindowed = logits(args.model, window=False)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}", file=sys.stderr)
    print(f"max |logit| {np.abs(full).max():.4f}; max |diff| to the same model without the "
          f"window {np.abs(full - unwindowed).max():.4f} (positions below the window: "
          f"{np.abs(full[:7] - unwindowed[:7]).max():.2e})", file=sys.stderr)
    full[ROWS].tofile(args.out)
    print(f"wrote {args.out}: {len(ROWS)} rows x {full.shape[1]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
