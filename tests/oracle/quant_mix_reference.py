#!/usr/bin/env python3
"""Trusted reference for `convert --type q3_k_s ... q5_k_m`: llama-quantize's files of those mixes.

Test-time oracle only (never used by the product). For each config of tests/data/quant_mix/
(`sigma-eval make-model --seed 5`, then `convert --type f32`), llama.cpp's llama_model_quantize
(llama-cpp-python) writes the seven mixes without an importance matrix; this records each tensor's
type and the SHA-256 of its bytes in tests/data/quant_mix/llama_cpp.json, which
tests/engine/gguf/quant_mix_test.cc compares with the engine's conversions of the same checkpoints:
the same type for every tensor (llama.cpp's choice of mix and of fallbacks) and the same bytes
(its quantizers).

usage: python3 tests/oracle/quant_mix_reference.py --sigma-eval build/harness/sigma-eval \\
           --out tests/data/quant_mix/llama_cpp.json
Needs: pip install llama-cpp-python gguf numpy (llama-cpp-python 0.3.36 wrote the committed file).
"""
import argparse
import ctypes
import hashlib
import json
import os
import subprocess
import tempfile

import llama_cpp
import numpy as np
from gguf import GGUFReader

MIXES = {"q3_k_s": 11, "q3_k_m": 12, "q3_k_l": 13, "q4_k_s": 14, "q4_k_m": 15, "q5_k_s": 16,
         "q5_k_m": 17}  # llama_ftype
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "quant_mix")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigma-eval", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = {"llama_cpp_python": llama_cpp.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        for config in sorted(f for f in os.listdir(DATA) if f.endswith(".json") and f != "llama_cpp.json"):
            model = config[:-5]
            folder = os.path.join(tmp, model)
            f32 = folder + ".f32.gguf"
            subprocess.run([args.sigma_eval, "make-model", "--config", os.path.join(DATA, config),
                            "--seed", "5", "--out", folder], check=True, capture_output=True)
            subprocess.run([args.sigma_eval, "convert", "--in", folder, "--out", f32, "--type", "f32"],
                           check=True, capture_output=True)
            result[model] = {}
            for mix, ftype in MIXES.items():
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = ftype
                params.nthread = 2
                out = os.path.join(tmp, f"{model}.{mix}.gguf")
                if llama_cpp.llama_model_quantize(f32.encode(), out.encode(), ctypes.byref(params)) != 0:
                    raise SystemExit(f"llama_model_quantize failed on {model} {mix}")
                result[model][mix] = {
                    t.name: [t.tensor_type.name.lower(),
                             hashlib.sha256(np.asarray(t.data).view(np.uint8).tobytes()).hexdigest()]
                    for t in GGUFReader(out).tensors}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
