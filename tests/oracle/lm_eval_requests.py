#!/usr/bin/env python3
"""The requests EleutherAI's lm-evaluation-harness builds for the project's sample sets.

For each general benchmark under tasks/benchmarks that has an lm-eval counterpart, this loads
lm-eval's own task config (its prompt templates and Python helpers), points it at the project's
test.jsonl instead of the Hugging Face hub, builds the zero-shot requests, and writes one JSON
line per document: {"task", "doc", "requests", "metrics"}. Each request is {"context",
"continuation", "ll", "greedy"} for log-likelihood requests (ll and greedy: a made-up answer,
multiples of 1/64 drawn from a hash, so that JSON carries them exactly) or {"context", "until"}
for generation; "metrics" is what lm-eval's process_results makes of those answers.
tests/tasks/lm_eval_parity_test.cc checks that sigma-eval builds the same requests from the same
documents and scores the same answers the same way.

Usage (offline once lm-eval is installed; no model, no data download):
  python3 -m venv /tmp/lmeval && /tmp/lmeval/bin/pip install lm-eval==0.4.13
  /tmp/lmeval/bin/python tests/oracle/lm_eval_requests.py > tests/data/tasks/lm_eval_requests.jsonl
"""
import hashlib
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
    by_doc = {}
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        by_doc.setdefault(inst.doc_id, []).append(inst)
    out = []
    for doc_id, instances in sorted(by_doc.items()):
        requests, answers = [], []
        for inst in instances:
            request = {"context": inst.arguments[0]}
            if inst.request_type == "generate_until":
                request["until"] = inst.arguments[1]["until"]
            else:
                request["continuation"] = inst.arguments[1]
                ll, greedy = made_up_answer(ours, doc_id, inst.idx, inst.arguments[1])
                request.update(ll=ll, greedy=greedy)
                answers.append((ll, greedy))
            requests.append(request)
        row = {"task": ours, "doc": doc_id, "requests": requests}
        if answers:
            metrics = task.process_results(task.eval_docs[doc_id], answers)
            row["metrics"] = {k: float(v) for k, v in metrics.items()}
        out.append(row)
    return out


def made_up_answer(task, doc, idx, continuation):
    """A log-likelihood near -len(continuation) (so that the length normalisations matter) in
    multiples of 1/64, and a greedy flag."""
    h = int.from_bytes(hashlib.sha256(f"{task}/{doc}/{idx}".encode()).digest()[:8], "little")
    per_char = 32 + h % 64  # 0.5 .. 1.5 nats a character, in 1/64
    return -per_char * max(1, len(continuation)) / 64.0, bool(h >> 63)


def main():
    manager = TaskManager()
    with tempfile.TemporaryDirectory() as workdir:
        for ours, (theirs, adapt) in TASKS.items():
            for row in requests_of(ours, theirs, adapt, manager, workdir):
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
