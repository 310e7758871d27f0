#!/usr/bin/env python3
"""Trusted reference for chat templates: jinja2 renders them as transformers does.

Test-time oracle only (never used by the product). transformers' apply_chat_template compiles a
model's template in jinja2's ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks,
the loopcontrols extension and its {% generation %} blocks, its own tojson (json.dumps, ensure_ascii False) and the globals
raise_exception and strftime_now. This script does the same for each template of
models/templates/ (llama.cpp's collection of real models' templates, which scripts/setup.sh
fetches) and each conversation below, and writes what it rendered, or the message of the
exception it raised, to tests/data/chat_templates/expected.json; the C++ test
(tests/engine/tokenizer/jinja_conformance_test.cc) renders the same with the engine's interpreter.
strftime_now formats a fixed date (2024-07-26) so that the expected text does not change.

usage: python3 tests/oracle/chat_template_reference.py --templates models/templates \\
           --out tests/data/chat_templates/expected.json
Needs: pip install jinja2 (3.1; a venv under /tmp is enough).
"""
import argparse
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2 + 2?"}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Name a prime."}],
    [{"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "List three colours."}],
    [{"role": "system", "content": "  Answer in French.\n"},
     {"role": "user", "content": "  \"Quotes\", 'apostrophes', \\backslashes\\ and\ttabs\n\n"},
     {"role": "assistant", "content": "D'accord : « oui » — 日本語 😀 "},
     {"role": "user", "content": "Encore {{ braces }} et {% percent %}"}],
    [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Again"}],
]
BOS, EOS = "<BOS>", "<EOS>"
FIXED_NOW = datetime.datetime(2024, 7, 26, 10, 30, 0)


class GenerationBlocks(Extension):
    """transformers' {% generation %} ... {% endgeneration %} (its AssistantTracker): the body as
    it is (the tracking of the assistant's tokens is not in play when rendering)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def environment() -> jinja2.Environment:
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols", GenerationBlocks])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--templates", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    env = environment()
    cases = []
    for name in sorted(os.listdir(args.templates)):
        if not name.endswith(".jinja"):
            continue
        with open(os.path.join(args.templates, name), encoding="utf-8") as f:
            template = env.from_string(f.read())
        for index, messages in enumerate(CONVERSATIONS):
            for add in (True, False):
                case = {"template": name, "conversation": index, "add_generation_prompt": add}
                try:
                    case["output"] = template.render(messages=messages, add_generation_prompt=add,
                                                     bos_token=BOS, eos_token=EOS)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "bos_token": BOS, "eos_token": EOS,
                   "now": FIXED_NOW.isoformat(), "conversations": CONVERSATIONS, "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in c for c in cases)
    print(f"wrote {len(cases)} cases ({errors} raised) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
