#!/usr/bin/env python3
"""EleutherAI's lm-evaluation-harness driving `sigma-eval serve`: its local-completions model (token
ids for log-likelihoods and generations, one prompt a request and four) on ARC-Easy (0-shot) and
GSM8K (5-shot) of the project's sample sets, against `sigma-eval run` of the same model on the same
documents. Passes when every log-likelihood is the same number, every generation the same text and
the metrics the same: lm-eval reading our server's answers gets what our harness gets.

Not part of the test suite (it needs lm-eval and transformers from PyPI); run by hand:
  python3 -m venv /tmp/lmeval && /tmp/lmeval/bin/pip install lm-eval==0.4.13 tenacity aiohttp transformers
  /tmp/lmeval/bin/python tests/oracle/lm_eval_serve_check.py build/harness/sigma-eval
"""
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lm_eval_requests as R  # noqa: E402

from lm_eval import evaluator  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")
TASKS = ("arc_easy", "gsm8k")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def lm_eval_samples(port, tokenizer, batch, workdir):
    """{task: {doc_id: [response, ...]}} from lm-eval's run through the server."""
    manager = TaskManager()
    tasks = []
    for ours in TASKS:
        theirs, adapt = R.TASKS[ours]
        _, path = R.load_split(ours, "test", adapt, workdir)
        files, shots = {"test": path}, 0
        if ours in R.FEW_SHOT:
            split, shots = R.FEW_SHOT[ours]
            files[split] = R.load_split(ours, split, adapt, workdir)[1]
        tasks.append(R.lm_eval_task(manager, theirs, files, shots))
    out = evaluator.simple_evaluate(
        model="local-completions",
        model_args=(f"base_url=http://127.0.0.1:{port}/v1/completions,model=smol,"
                    f"tokenizer={tokenizer},tokenizer_backend=huggingface,batch_size={batch},"
                    "max_retries=1,timeout=600"),
        tasks=tasks, log_samples=True)
    samples = {t: {s["doc_id"]: s["resps"] for s in rows} for t, rows in out["samples"].items()}
    return samples, out["results"]


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/harness/sigma-eval")
    failures = 0
    with tempfile.TemporaryDirectory() as workdir:
        tokenizer = os.path.join(workdir, "tokenizer")
        subprocess.run([binary, "tokenize", "--model", MODEL, "--export-hf", tokenizer], check=True)
        db = os.path.join(workdir, "ours.db")
        subprocess.run([binary, "run", "--tasks", ",".join(TASKS), "--db", db], check=True,
                       stdout=subprocess.DEVNULL)
        con = sqlite3.connect(db)
        ours = {(t, i): out for t, i, out in con.execute(
            "SELECT task, doc_index, CAST(raw_output AS TEXT) FROM samples")}
        our_results = {(t, m): v for t, m, v in con.execute(
            "SELECT task, metric, value FROM task_results")}
        port = free_port()
        server = subprocess.Popen([binary, "serve", "--model", MODEL, "--port", str(port),
                                   "--name", "smol", "--batch", "4"])
        try:
            wait_for(f"http://127.0.0.1:{port}/health")
            for batch in (1, 4):
                samples, results = lm_eval_samples(port, tokenizer, batch, workdir)
                worst, same_text, texts = 0.0, 0, 0
                for doc, resps in samples["arc_easy"].items():
                    mine = json.loads(ours[("arc_easy", doc)])
                    worst = max([worst] + [abs(r[0][0] - m["ll"]) for r, m in zip(resps, mine)])
                for doc, resps in samples["gsm8k"].items():
                    texts += 1
                    same_text += resps[0][0] == ours[("gsm8k", doc)]
                metrics = {("arc_easy", "acc"): results["arc_easy"]["acc,none"],
                           ("arc_easy", "acc_norm"): results["arc_easy"]["acc_norm,none"],
                           ("gsm8k", "exact_match,strict-match"):
                               results["gsm8k"]["exact_match,strict-match"],
                           ("gsm8k", "exact_match,flexible-extract"):
                               results["gsm8k"]["exact_match,flexible-extract"]}
                differing = {k: (v, our_results[k]) for k, v in metrics.items()
                             if abs(v - our_results[k]) > 1e-12}
                print(f"batch_size {batch}: ARC-Easy log-likelihoods max |lm-eval - sigma-eval| = "
                      f"{worst}; GSM8K generations identical {same_text}/{texts}; metrics "
                      f"{'equal' if not differing else differing}")
                failures += (worst > 1e-9) + (same_text != texts) + bool(differing)
        finally:
            server.terminate()
            server.wait()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
