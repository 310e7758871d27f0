#!/usr/bin/env python3
"""The tokens lm-evaluation-harness scores for log-likelihood requests, as the harness must too.

lm-eval's TemplateLM.loglikelihood turns each (context, continuation) pair into tokens its own way:
trailing whitespace of the context moves to the continuation, the continuation's tokens are those
of the whole text after as many as the context's own encoding has, and an empty context becomes
the prefix token (BOS, else EOS). This runs that code (lm-eval 0.4.13's, unmodified) with SmolLM2's
tokenizer as the `tokenizers` package encodes it (rebuilt from the default model's GGUF as
tokenizer_reference.py does) and HFLM's tok_encode rule (no special tokens added where the text
already starts with BOS), over every log-likelihood request of tests/data/tasks/lm_eval_requests.jsonl
and pairs written to meet the boundary cases, and writes what lm-eval would feed and score, one
JSON line a pair:
  {"context", "continuation", "context_ids", "continuation_ids"}
then one line a case of loglikelihood_rolling's windows (HFLM's: get_rolling_token_windows with
context_len 1, then make_disjoint_window) for a document of n tokens 0..n-1 after the prefix token
-1 and a model of max_length tokens:
  {"rolling": {"tokens": n, "max_length": L}, "windows": [{"context", "continuation"}, ...]}
tests/harness/backends/request_tokens_test.cc checks that sigma-eval gives the same.

Usage (offline once the packages are installed):
  python3 -m venv /tmp/lmeval && /tmp/lmeval/bin/pip install lm-eval==0.4.13 tokenizers gguf numpy
  /tmp/lmeval/bin/python tests/oracle/lm_eval_tokens.py > tests/data/tasks/lm_eval_tokens.jsonl
"""
import importlib.util
import json
import os
import sys

import gguf
from lm_eval.api.model import TemplateLM
from lm_eval.models.utils import has_bos_prefix
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tests/oracle", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Instance:
    def __init__(self, context, continuation):
        self.args = (context, continuation)


class TokensOnly(TemplateLM):
    """An LM whose scoring records the tokens lm-eval hands it."""

    def __init__(self, tok, bos_id, eos_id):
        super().__init__()
        self.tok, self.bos_id, self.eos_id = tok, bos_id, eos_id
        self.bos_text = tok.decode([bos_id], skip_special_tokens=False)
        self.seen = []

    @property
    def eot_token_id(self):
        return self.eos_id

    @property
    def prefix_token_id(self):  # HFLM's: BOS where the tokenizer has one, else EOS
        return self.bos_id if self.bos_id is not None else self.eos_id

    def tok_encode(self, string, add_special_tokens=None, **kwargs):  # HFLM.tok_encode's rule
        add = True if add_special_tokens is None else add_special_tokens
        if add_special_tokens is None and has_bos_prefix(string, self.bos_text):
            add = False
        return self.tok.encode(string, add_special_tokens=add).ids

    def _loglikelihood_tokens(self, requests, **kwargs):
        self.seen.extend(requests)
        return [(0.0, False)] * len(requests)

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def generate_until(self, requests, disable_tqdm=False):
        raise NotImplementedError


# Pairs whose tokens depend on the rule: trailing whitespace of every kind Python's str.isspace
# knows, words and numbers cut mid-way, merges across the boundary, an empty context (with a
# continuation that starts with the prefix token and one that does not), special-token text.
CRAFTED = [
    ("Question: What is 2 + 2?\nAnswer: ", "4"),
    ("Question: What is 2 + 2?\nAnswer:", " 4"),
    ("Answer:\n\n", "B"),
    ("Answer:\n", "\nB"),
    ("tabs\t \t", "x"),
    ("no-break space\u00a0", "y"),
    ("ideographic space\u3000", "語"),
    ("line separator\u2028", "z"),
    ("file separator\x1c", "z"),
    ("The cat sat on the ma", "t"),
    ("The cat sat on the ma", "t."),
    ("Total: 12", "34"),
    ("Total: 12", " 34"),
    ("I don", "'t know"),
    ("path/to", "/file.txt"),
    ("echo $(ls", " -la)"),
    ("emoji \U0001F600", "\U0001F600"),
    ("caf", "\u00e9"),
    ("\u65e5\u672c", "\u8a9e"),
    ("", "Hello"),
    ("", " Hello"),
    ("", "<|im_start|>Hello"),
    ("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "Sure"),
    ("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>"),
    ("Say it:  ", "  twice"),
    ("x" * 40, "x" * 3),
]


# (document tokens, max_length): shorter than, equal to and longer than the window, by one and by
# several windows, a last window of one token, the smallest windows.
ROLLING = [(1, 4), (3, 4), (4, 4), (5, 4), (7, 4), (8, 4), (9, 4), (10, 4), (1, 1), (5, 1),
           (5, 2), (6, 2), (17, 5), (100, 7), (300, 128), (2049, 2048)]


def main():
    reader = gguf.GGUFReader(os.path.join(ROOT, "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ref = load_module("tokenizer_reference")
    spec = ref.tokenizer_json(reader, {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, ref.byte_level(True)]}, False)
    tok = Tokenizer.from_str(json.dumps(spec))
    bos = int(reader.fields["tokenizer.ggml.bos_token_id"].parts[-1][0])
    eos = int(reader.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
    pairs = []
    with open(os.path.join(ROOT, "tests/data/tasks/lm_eval_requests.jsonl"), encoding="utf-8") as f:
        for line in f:
            for r in json.loads(line)["requests"]:
                if "continuation" in r:
                    pairs.append((r["context"], r["continuation"]))
    pairs = list(dict.fromkeys(pairs)) + CRAFTED
    lm = TokensOnly(tok, bos, eos)
    lm.loglikelihood([Instance(c, x) for c, x in pairs], disable_tqdm=True)
    assert len(lm.seen) == len(pairs)
    out = [{"context": c, "continuation": x, "context_ids": ctx, "continuation_ids": cont}
           for (c, x), ((_, _), ctx, cont) in zip(pairs, lm.seen)]
    for o in out:
        sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
    for n, max_length in ROLLING:
        windows = [make_disjoint_window(w) for w in
                   get_rolling_token_windows(list(range(n)), -1, max_length, context_len=1)]
        sys.stdout.write(json.dumps({"rolling": {"tokens": n, "max_length": max_length}, "windows": [
            {"context": a, "continuation": b} for a, b in windows]}) + "\n")
    print(f"{len(out)} pairs, {sum(1 for o in out if o['context'] != o['context'].rstrip())} with "
          f"trailing whitespace", file=sys.stderr)


if __name__ == "__main__":
    main()
