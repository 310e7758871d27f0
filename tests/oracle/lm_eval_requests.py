#!/usr/bin/env python3
"""The requests EleutherAI's lm-evaluation-harness builds for the project's sample sets.

For each general benchmark under tasks/benchmarks that has an lm-eval counterpart, this loads
lm-eval's own task config (its prompt templates and Python helpers), points it at the project's
test.jsonl instead of the Hugging Face hub, builds the zero-shot requests, and writes one JSON
line per document: {"task", "doc", "requests", "metrics" | "responses"}. Each request is {"context",
"continuation", "ll", "greedy"} for log-likelihood requests (ll and greedy: a made-up answer,
multiples of 1/64 drawn from a hash, so that JSON carries them exactly) or {"context", "until"}
for generation; "metrics" is what lm-eval's process_results makes of those answers, and
"responses" (generation) made-up responses, what each of the task's filter pipelines extracts from
them and what process_results makes of that.
tests/tasks/lm_eval_parity_test.cc checks that sigma-eval builds the same requests from the same
documents and scores the same answers the same way.

With --math it writes instead, as one JSON object, what hendrycks_math makes of made-up responses
to the MATH sample problems and of answer strings in many forms: lm-eval's strip_string of each
(null where it raises), is_equiv of each with each sample answer, and process_results' verdicts
(read by tests/tasks/math_answer_test.cc).

Usage (offline once lm-eval is installed; no model, no data download):
  python3 -m venv /tmp/lmeval && /tmp/lmeval/bin/pip install lm-eval==0.4.13
  /tmp/lmeval/bin/python tests/oracle/lm_eval_requests.py > tests/data/tasks/lm_eval_requests.jsonl
  /tmp/lmeval/bin/python tests/oracle/lm_eval_requests.py --math > tests/data/tasks/math_answers.json
  /tmp/lmeval/bin/python tests/oracle/lm_eval_requests.py --chat > tests/data/tasks/lm_eval_chat_requests.jsonl

With --chat it writes the requests lm-eval builds under --apply_chat_template (with and without
--fewshot_as_multiturn and --system_instruction) as their chat messages, one JSON line per
document and setting (read by tests/tasks/lm_eval_chat_parity_test.cc).
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
    "hendrycks_math": ("hendrycks_math_algebra", None),  # every subject's config is the same
}

# Tasks whose reference is few-shot as configured: (few-shot split, num_fewshot). GSM8K draws its
# five examples from train with lm-eval's default sampler (random.Random(1234), document by
# document in order).
FEW_SHOT = {"gsm8k": ("train", 5)}

# MMLU and MMLU-Pro: one lm-eval task per subject / category, 5-shot from the dev / validation
# split (first_n).
MMLU_SUBJECTS = ["astronomy", "high_school_chemistry", "high_school_world_history"]
MMLU_PRO_CATEGORIES = ["biology", "computer science", "economics"]


def write_jsonl(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


def load_split(ours, split, adapt, workdir):
    """Our split's documents (adapted to lm-eval's layout) and a copy of them lm-eval reads."""
    with open(os.path.join(ROOT, ours, split + ".jsonl"), encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    if adapt is not None:
        docs = [adapt(d) for d in docs]
    return docs, write_jsonl(os.path.join(workdir, f"{ours}-{split}.jsonl"), docs)


def lm_eval_task(manager, theirs, data_files, num_fewshot, fewshot_samples=None, **build):
    """lm-eval 0.4.13's own task (its YAML's includes and !function helpers resolved), reading
    local JSONL files; fewshot_samples in place of the examples its YAML lists (BBH's); `build`:
    build_all_requests' chat arguments (apply_chat_template, fewshot_as_multiturn, ...)."""
    config = manager._factory._load_full_config(manager._entry(theirs))
    if fewshot_samples is not None:
        config["fewshot_config"] = {**config["fewshot_config"], "samples": fewshot_samples}
    for key in ("tag", "group", "task_list", "dataset_name", "training_split", "validation_split"):
        config.pop(key, None)
    if config.get("fewshot_split") not in data_files:
        config.pop("fewshot_split", None)
    config.update(dataset_path="json", dataset_kwargs={"data_files": data_files},
                  test_split="test", num_fewshot=num_fewshot)
    task = ConfigurableTask(config=config)
    task.set_fewshot_seed(seed=1234)  # what lm-eval's evaluator sets (fewshot_random_seed)
    task.build_all_requests(rank=0, world_size=1, **build)
    return task


def requests_of(ours, theirs, adapt, manager, workdir):
    _, path = load_split(ours, "test", adapt, workdir)
    files, shots = {"test": path}, 0
    if ours in FEW_SHOT:
        split, shots = FEW_SHOT[ours]
        files[split] = load_split(ours, split, adapt, workdir)[1]
    task = lm_eval_task(manager, theirs, files, shots)
    return rows_of(task, ours, lambda doc_id: doc_id)


def rows_of(task, ours, our_index):
    """One row per document: its requests, made-up answers and lm-eval's metrics for them.
    our_index maps lm-eval's doc id to the document's line in our test.jsonl."""
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
        row = {"task": ours, "doc": our_index(doc_id), "requests": requests}
        # hendrycks_math's answers: --math (its lm-eval task scores in process_results alone).
        if instances[0].request_type == "generate_until" and ours != "hendrycks_math":
            row["responses"] = scored_responses(task, instances[0])
        if answers:
            metrics = task.process_results(task.eval_docs[doc_id], answers)
            row["metrics"] = {k: float(v) for k, v in metrics.items()}
        out.append(row)
    return sorted(out, key=lambda row: row["doc"])


def scored_responses(task, inst):
    """Made-up responses to a generation request, around the document's gold answer, each through
    every filter pipeline of the task and process_results: {"text", "filtered": {pipeline:
    answer}, "metrics": {metric,pipeline: value}}."""
    target = str(task.doc_to_target(inst.doc))
    gold = target.split("####")[-1].strip()
    texts = [f"Step one, step two. So the answer is {gold}.", f"So the answer is {gold}",
             f"Adding up.\n#### {gold}", f"The answer is ({gold}).", gold, f"  {gold.lower()}  ",
             f"the answer is  {gold} .\nthe answer is wrong.", f"It costs $1,234.50, so 7; the answer "
             f"is {gold}!", "no idea", f"$ {gold} $", "the answer is (J).", f"{gold}, then the "
             f"answer is 42.", f"#### {gold},000", f"The Answer Is {gold}."]
    out = []
    for text in texts:
        inst.resps = [text]
        inst.filtered_resps = {}
        row = {"text": text, "filtered": {}, "metrics": {}}
        for ensemble in task._filters:
            ensemble.apply([inst])
            answer = inst.filtered_resps[ensemble.name]
            row["filtered"][ensemble.name] = answer
            for metric, value in task.process_results(inst.doc, [answer]).items():
                row["metrics"][f"{metric},{ensemble.name}"] = float(value)
        out.append(row)
    return out


def made_up_answer(task, doc, idx, continuation):
    """A log-likelihood near -len(continuation) (so that the length normalisations matter) in
    multiples of 1/64, and a greedy flag."""
    h = int.from_bytes(hashlib.sha256(f"{task}/{doc}/{idx}".encode()).digest()[:8], "little")
    per_char = 32 + h % 64  # 0.5 .. 1.5 nats a character, in 1/64
    return -per_char * max(1, len(continuation)) / 64.0, bool(h >> 63)


def per_subject_rows(manager, workdir, ours, field, subjects, prefix, fewshot_split):
    """5-shot rows of a task lm-eval splits into one task per subject (the first five examples of
    the subject in the few-shot split); each subject's documents (doc[field]) in files of their
    own, as the hub's per-subject configs hold them; docs numbered as in our test.jsonl."""
    docs, _ = load_split(ours, "test", None, workdir)
    shots, _ = load_split(ours, fewshot_split, None, workdir)
    index_of = {d["question"]: i for i, d in enumerate(docs)}
    out = []
    for subject in subjects:
        files = {split: write_jsonl(os.path.join(workdir, f"{ours}-{subject}-{split}.jsonl"),
                                    [d for d in rows if d[field] == subject])
                 for split, rows in (("test", docs), (fewshot_split, shots))}
        task = lm_eval_task(manager, prefix + subject.replace(" ", "_"), files, 5)
        out += rows_of(task, ours, lambda doc_id: index_of[task.eval_docs[doc_id]["question"]])
    return sorted(out, key=lambda row: row["doc"])


def bbh_rows(manager, workdir):
    """3-shot chain-of-thought rows of every BBH subtask we have, lm-eval's bbh_cot_fewshot
    configs given our worked examples (fewshot.jsonl) in place of BBH's own."""
    out = []
    for folder in sorted(os.listdir(ROOT)):
        if not folder.startswith("bbh_"):
            continue
        _, test = load_split(folder, "test", None, workdir)
        shots, _ = load_split(folder, "fewshot", None, workdir)
        task = lm_eval_task(manager, "bbh_cot_fewshot_" + folder[4:], {"test": test}, 3, shots)
        out += rows_of(task, folder, lambda doc_id: doc_id)
    return out


def math_answers(manager, workdir):
    """hendrycks_math's answer reading and comparison on made-up responses to each sample problem,
    and lm-eval's normalisation (or its exception) of answer strings in many forms."""
    from lm_eval.tasks.hendrycks_math import utils

    docs, _ = load_split("hendrycks_math", "test", None, workdir)
    golds = [utils.remove_boxed(utils.last_boxed_only_string(d["solution"])) for d in docs]
    forms = set(golds)
    for g in golds:
        forms |= {g.replace("\\frac", "\\dfrac"), g.replace("\\frac", "\\tfrac"), " " + g + " ",
                  g.replace("{", "").replace("}", ""), g + "\\text{ units}", "x = " + g,
                  "\\left(" + g + "\\right)", g + "^\\circ", g + "\\%", "\\$" + g}
    forms |= {"0.5", ".5", "1/2", "\\frac12", "\\frac1{2}", "\\frac{1}2", "\\frac 1 2", "\\sqrt3",
              "2\\sqrt 3", "\\sqrt", "3\\sqrt", "\\frac", "\\frac{1}{2}\\frac", "\\frac1",
              "a/b", "3/4", "03/4", "-3/4", "+3/4", " 3/4", "3 / 4", "1_0/4", "3/4/5", "1.5/2",
              "k=5", "abc=5", "x=y=3", "=7", "5\\text{ cm}\\text{ m}", "10\\%", "{.5}",
              "\\!2", "a\\\\b", "50^{\\circ}", "(1,2)", "\\left[ 1, 2\\right)", "", " ",
              "\\text{(A)}", "12.50", "\\$12.50", "\\frac{\\sqrt{2}}{2}", "\\frac\\sqrt22",
              "é/2", "\\fracé2", "\\sqrtπ", "x=é", "ab=1", "aé=1", "aéb=1"}
    responses = []
    for i, g in enumerate(golds):
        responses.append({"doc": i, "response": f"The answer is ${g}$."})
        responses.append({"doc": i, "response": f"We have $x = 1$ and so on, giving ${g}$"})
        responses.append({"doc": i, "response": f" {g}"})
        responses.append({"doc": i, "response": "I do not know $7$ or $8$ $"})
    task = lm_eval_task(manager, "hendrycks_math_algebra",
                        {"test": os.path.join(workdir, "hendrycks_math-test.jsonl")}, 0)
    for r in responses:
        doc = task.eval_docs[r["doc"]]
        r["exact_match"] = task.process_results(doc, [r["response"]])["exact_match"]

    def strip(s):
        try:
            return utils.strip_string(s)
        except Exception:  # is_equiv's fallback to the raw strings
            return None

    normal = [{"answer": f, "normalized": strip(f)} for f in sorted(forms)]
    pairs = [{"a": a, "b": b, "equiv": bool(utils.is_equiv(a, b))}
             for a in sorted(forms) for b in golds]
    return {"golds": golds, "responses": responses, "normalized": normal, "pairs": pairs}


def messages_as_json(messages, add_generation_prompt=True):
    """A "chat template" that renders the messages lm-eval built as JSON, so they can be read
    back and compared message by message (the model's own template is the engine's business)."""
    return json.dumps({"messages": messages, "generation_prompt": add_generation_prompt},
                      ensure_ascii=False)


# --chat: the requests under lm-eval's --apply_chat_template, with and without
# --fewshot_as_multiturn and --system_instruction (zero-shot and few-shot, multiple choice with a
# description, generation, and Winogrande's choices in the context).
CHAT_SETTINGS = [(False, None), (True, None), (False, "Answer carefully."),
                 (True, "Answer carefully.")]


def chat_rows(manager, workdir):
    out = []
    for multiturn, instruction in CHAT_SETTINGS:
        build = dict(apply_chat_template=True, fewshot_as_multiturn=multiturn,
                     system_instruction=instruction, chat_template=messages_as_json)
        tasks = []
        for ours in ("arc_easy", "winogrande", "gsm8k"):
            theirs, adapt = TASKS[ours]
            _, path = load_split(ours, "test", adapt, workdir)
            files, shots = {"test": path}, 0
            if ours in FEW_SHOT:
                split, shots = FEW_SHOT[ours]
                files[split] = load_split(ours, split, adapt, workdir)[1]
            tasks.append((ours, lm_eval_task(manager, theirs, files, shots, **build), None))
        docs, _ = load_split("mmlu", "test", None, workdir)
        shots, _ = load_split("mmlu", "dev", None, workdir)
        index_of = {d["question"]: i for i, d in enumerate(docs)}
        subject = MMLU_SUBJECTS[0]
        files = {split: write_jsonl(os.path.join(workdir, f"mmlu-chat-{subject}-{split}.jsonl"),
                                    [d for d in rows if d["subject"] == subject])
                 for split, rows in (("test", docs), ("dev", shots))}
        task = lm_eval_task(manager, "mmlu_" + subject, files, 5, **build)
        tasks.append(("mmlu", task, lambda doc_id, t=task: index_of[t.eval_docs[doc_id]["question"]]))
        for ours, task, our_index in tasks:
            by_doc = {}
            for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
                by_doc.setdefault(inst.doc_id, []).append(inst)
            for doc_id, instances in sorted(by_doc.items()):
                requests = []
                for inst in instances:
                    rendered = json.loads(inst.arguments[0])
                    request = {"chat": rendered["messages"],
                               "generation_prompt": rendered["generation_prompt"]}
                    if inst.request_type == "generate_until":
                        request["until"] = inst.arguments[1]["until"]
                    else:
                        request["continuation"] = inst.arguments[1]
                    requests.append(request)
                out.append({"task": ours, "doc": our_index(doc_id) if our_index else doc_id,
                            "multiturn": multiturn, "system_instruction": instruction or "",
                            "requests": requests})
    return out


def main():
    manager = TaskManager()
    with tempfile.TemporaryDirectory() as workdir:
        if len(sys.argv) > 1 and sys.argv[1] == "--chat":
            for row in chat_rows(manager, workdir):
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        if len(sys.argv) > 1 and sys.argv[1] == "--math":
            json.dump(math_answers(manager, workdir), sys.stdout, ensure_ascii=False, indent=0)
            sys.stdout.write("\n")
            return
        for ours, (theirs, adapt) in TASKS.items():
            for row in requests_of(ours, theirs, adapt, manager, workdir):
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        rows = per_subject_rows(manager, workdir, "mmlu", "subject", MMLU_SUBJECTS, "mmlu_", "dev")
        rows += per_subject_rows(manager, workdir, "mmlu_pro", "category", MMLU_PRO_CATEGORIES,
                                 "mmlu_pro_", "validation")
        rows += bbh_rows(manager, workdir)
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
