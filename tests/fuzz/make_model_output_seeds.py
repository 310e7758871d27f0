#!/usr/bin/env python3
"""Writes the seed files of tests/fuzz/corpus/model_output/ (standard library only).

  python3 tests/fuzz/make_model_output_seeds.py

Each seed is one selector byte (model_output_fuzz.cc: 0 NL2KQL, 1 CMDGen, 2 Infrawise, 3 OptiFlow
plan, 4 JSON and code blocks) and a model answer of the kind that scorer reads, built from the
reference answers of the AIMICIUS sample sets.
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "model_output")


def first_record(task):
    with open(os.path.join(ROOT, "aimicius", "data", task, "sample.jsonl")) as f:
        return json.loads(f.readline())


def all_gather_plan(num_gpus, chunks_per_gpu):
    """One step in which every GPU sends each of its chunks to every other GPU."""
    step = [{"chunk": [owner, c], "src": owner, "dst": dst}
            for owner in range(num_gpus) for c in range(chunks_per_gpu)
            for dst in range(num_gpus) if dst != owner]
    return [step]


def main():
    os.makedirs(OUT, exist_ok=True)
    kql = first_record("nl2kql")["gt_kql"]
    command = first_record("cmdgen")["gt_command"]
    infrawise = first_record("infrawise")
    optiflow = first_record("optiflow")
    plan = all_gather_plan(optiflow["num_gpus"], optiflow["chunks_per_gpu"])
    seeds = {
        "kql_fenced": "Here is the query:\n```kql\n" + kql + "\n```\n",
        "kql_bare": kql,
        "cmdgen_fenced": "Run this:\n```bash\n$ " + command + "\n```",
        "cmdgen_quoted": "The command is `" + command + " | grep -v 'a b' \"c d\"`.",
        "infrawise_dcw": "```json\n" + json.dumps(infrawise["gt_dcw"]) + "\n```",
        "infrawise_indices": "The relevant results:\nAnswer: [1, 3]",
        "optiflow_plan": "step plan\n" + json.dumps(plan) + "\n",
        "optiflow_paper_spelling": json.dumps([["D(0, 0): G(0) => G(1)", "D(1, 1): G(1) => G(0)"]]),
        "json_blocks": "text {\"a\": [1, {\"b\": null}], // c\n} more ```\n[1,2,]\n```",
    }
    selectors = {"kql": 0, "cmdgen": 1, "infrawise": 2, "optiflow": 3, "json": 4}
    for name, text in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes([selectors[name.split("_")[0]]]) + text.encode())
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
