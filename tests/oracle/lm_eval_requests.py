#!/usr/bin/env python3
"""The requests EleutherAI's lm-evaluation-harness builds for the project's sample sets.

For each general benchmark under tasks/benchmarks that has an lm-eval counterpart, this loads
lm-eval's own task config (its prompt templates and Python helpers), points it at the project's
test.jsonl instead of the Hugging Face hub, builds the zero-shot requests, and writes one JSON
line per request: {"task", "doc", "context", "continuation"} for log-likelihood requests,
{"task", "doc", "context", "until"} for generation. tests/tasks/lm_eval_parity_test.cc checks
that sigma-eval builds the same requests from the same documents.

Usage (offline once lm-eval is installed; no model, no data download):
  python3 -m venv /tmp/lmeval && /tmp/lmeval/bin/pip install lm-eval==0.4.13
  /tmp/lmeval/bin/python tests/oracle/lm_eval_requests.py > tests/data/tasks/lm_eval_requests.jsonl
"""
import json
import os
import sys
import tempfile

from lm_eval.api.task import ConfigurableTask
from lm_eval.tasks import TaskManager

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tasks", "benchmarks")

# sigma-eval task -> (lm-eval task, field changes from our file's layout to the one lm-eval reads).
# Our boolq keeps google/boolq's layout (answer: bool); lm-eval reads super_glue's (label: 0/1).
TASKS = {
    "arc_easy": ("arc_easy", None),
    "arc_challenge": ("arc_challenge", None),
    "boolq": ("boolq", lambda d: {**d, "label": int(d["answer"])}),
    "hellaswag": ("hellaswag", None),
    "piqa": ("piqa", None),
    "openbookqa": ("openbookqa", None),
    "sciq": ("sciq", None),
    "logiqa": ("logiqa", None),
    "winogrande": ("winogrande", None),
    "lambada_openai": ("lambada_openai", None),
    "gsm8k": ("gsm8k", None),
}


def requests_of(ours, theirs, adapt, manager, workdir):
    with open(os.path.join(ROOT, ours, "test.jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    if adapt is not None:
        docs = [adapt(d) for d in docs]
    path = os.path.join(workdir, ours + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    # lm-eval 0.4.13's own loading of a task's YAML (includes and !function helpers resolved).
    config = manager._factory._load_full_config(manager._entry(theirs))
    for key in ("tag", "group", "task_list", "dataset_name", "training_split", "validation_split",
                "fewshot_split"):
        config.pop(key, None)
    config.update(dataset_path="json", dataset_kwargs={"data_files": {"test": path}},
                  test_split="test", num_fewshot=0)
    task = ConfigurableTask(config=config)
    task.build_all_requests(rank=0, world_size=1)
    out = []
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        row = {"task": ours, "doc": inst.doc_id, "context": inst.arguments[0]}
        if inst.request_type == "generate_until":
            row["until"] = inst.arguments[1]["until"]
        else:
            row["continuation"] = inst.arguments[1]
        out.append(row)
    return out


def main():
    manager = TaskManager()
    with tempfile.TemporaryDirectory() as workdir:
        for ours, (theirs, adapt) in TASKS.items():
            for row in requests_of(ours, theirs, adapt, manager, workdir):
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
