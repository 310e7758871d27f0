#!/usr/bin/env python3
"""Writes the seed files of tests/fuzz/corpus/inputs/ (standard library only).

  python3 tests/fuzz/make_input_seeds.py

Each seed is one selector byte (input_files_fuzz.cc: 0 safetensors, 1 model config.json,
2 tokenizer.json, 3 task config.json, 4 prompt template, 5 JSONL, 6 a whole task: config, a
"---" line, its JSONL documents, 7 a MATH answer or solution) and a valid input for that parser, taken from the repository's own files where it has them. Files named regression_* in
that folder are inputs that once crashed a parser, kept as found (not written by this script).
"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "inputs")


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] -> file bytes."""
    header, offset, data = {}, 0, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def read(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "safetensors_two_tensors": b"\x00" + safetensors(
            [("w", "F32", [2, 3], struct.pack("<6f", *range(6))),
             ("b", "BF16", [4], struct.pack("<4H", 0x3F80, 0x4000, 0xBF80, 0))],
            {"format": "pt"}),
        "safetensors_empty": b"\x00" + safetensors([]),
        "config_sigma": b"\x01" + read("tests", "data", "oracle", "sigma-diffqkv-tiny", "config.json"),
        "config_qwen2": b"\x01" + read("tests", "data", "oracle", "qwen2-tied-tiny", "config.json"),
        "tokenizer_bpe": b"\x02" + json.dumps({
            "added_tokens": [{"id": 5, "content": "<|im_start|>", "special": True}],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
            "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4},
                      "merges": ["a b", "\u0120 ab"]}}).encode(),
        "task_mmlu": b"\x03" + read("tasks", "benchmarks", "mmlu", "config.json"),
        "task_gsm8k": b"\x03" + read("tasks", "benchmarks", "gsm8k", "config.json"),
        "template_choices": b"\x04" + b"{{question | strip}}\n{{choices | lettered}}\nAnswer:",
        "template_nested": b"\x04" + b"{{subject | humanize}}: {{nested.list[2]}} {{answer}}",
        "jsonl_mmlu": b"\x05" + b"\n".join(
            json.dumps(dict(json.loads(line), id=f"q{i}")).encode()
            for i, line in enumerate(read("tasks", "benchmarks", "mmlu", "test.jsonl").splitlines()[:3])),
    }
    for task in ("boolq", "gsm8k", "hellaswag", "mmlu", "winogrande", "lambada_openai",
                 "hendrycks_math", "mmlu_pro", "bbh_word_sorting", "sciq", "logiqa"):
        docs = b"\n".join(read("tasks", "benchmarks", task, "test.jsonl").splitlines()[:4])
        seeds[f"whole_task_{task}"] = (b"\x06" + read("tasks", "benchmarks", task, "config.json") +
                                       b"\n---\n" + docs)
    # lm-eval's default sampler drawing from the documents' own split, one document twice.
    gsm8k = json.loads(read("tasks", "benchmarks", "gsm8k", "config.json"))
    gsm8k["dataset"] = {"splits": {"test": "test.jsonl"}}
    gsm8k["fewshot"]["num"] = 2
    lines = read("tasks", "benchmarks", "gsm8k", "test.jsonl").splitlines()[:5]
    seeds["whole_task_python_random"] = (b"\x06" + json.dumps(gsm8k).encode() + b"\n---\n" +
                                         b"\n".join(lines + lines[1:2]))
    for i, line in enumerate(read("tasks", "benchmarks", "hendrycks_math", "test.jsonl").splitlines()[:4]):
        seeds[f"math_solution_{i}"] = b"\x07" + json.loads(line)["solution"].encode()
    seeds["math_answers"] = b"\x07" + b"x = \\dfrac{3}{4} \\text{ cm} $\\sqrt3$ 0.5 1/2"
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
