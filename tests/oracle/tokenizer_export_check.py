#!/usr/bin/env python3
"""Checks a tokenizer.json that `sigma-eval convert` wrote against the conformance reference.

Test-time check only (the product never runs Python). Hugging Face's `tokenizers` loads the given
tokenizer.json and encodes every document of tests/data/tokenizer/corpus.bin; the ids must equal
tests/data/tokenizer/smollm2_ids.bin (what tests/oracle/tokenizer_reference.py computed with the
original SmolLM2 configuration). Run on the folder converted from the default model:

  build/harness/sigma-eval convert --in models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --out /tmp/smollm2 --type bf16
  python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers
  /tmp/tokvenv/bin/python tests/oracle/tokenizer_export_check.py /tmp/smollm2/tokenizer.json

Exit status 1 when any document differs.
"""
import os
import struct
import sys

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")


def records(corpus, ids):
    p = q = 0
    while p < len(corpus):
        n = struct.unpack_from("<I", corpus, p)[0]
        text = corpus[p + 4:p + 4 + n].decode("utf-8", errors="surrogateescape")
        p += 4 + n
        count = struct.unpack_from("<I", ids, q)[0]
        want = list(struct.unpack_from(f"<{count}H", ids, q + 4))
        q += 4 + 2 * count
        yield text, want


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tok = Tokenizer.from_file(sys.argv[1])
    with open(os.path.join(DATA, "corpus.bin"), "rb") as f, \
            open(os.path.join(DATA, "smollm2_ids.bin"), "rb") as g:
        corpus, ids = f.read(), g.read()
    docs = differ = 0
    for text, want in records(corpus, ids):
        docs += 1
        if tok.encode(text, add_special_tokens=False).ids != want:
            differ += 1
            if differ <= 3:
                print(f"document {docs - 1} differs")
    print(f"{docs} documents: {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
