#!/usr/bin/env python3
"""Expected token ids for the tokenizer conformance test (tests/engine/tokenizer/).

A test-time oracle only: the product never runs Python. It
  1. generates a deterministic corpus (> 1 MB of prose, code, shell commands, JSON, CJK, emoji,
     whitespace runs, mixed scripts, Unicode digits, special-token look-alikes, and "invalid
     sequences as text": U+FFFD, escaped bytes, control characters);
  2. rebuilds SmolLM2's Hugging Face tokenizer.json from the GGUF metadata of the default model
     (vocab = tokenizer.ggml.tokens, merges = tokenizer.ggml.merges, the 17 control tokens as
     special added tokens, pre_tokenizer = Sequence[Digits(individual_digits), ByteLevel(use_regex)],
     decoder ByteLevel: the configuration of HuggingFaceTB/SmolLM2-*'s tokenizer.json, and the one
     llama.cpp's "smollm" pre-tokenizer reproduces);
  3. encodes every document with the `tokenizers` package and writes
       tests/data/tokenizer/corpus.bin       records: u32 byte length, UTF-8 bytes
       tests/data/tokenizer/smollm2_ids.bin  records: u32 count, count x u16 ids
       tests/data/tokenizer/variants.txt     "variant doc n fnv1a64" per document for the same
                                             vocab with the Llama-3, Qwen2, Qwen3.5 and o200k
                                             (GPT-4o, gpt-oss) Split regexes (ignore_merges for
                                             Llama-3), hashed to keep it small.
Run (network to PyPI only for the venv):
  python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers gguf numpy
  /tmp/tokvenv/bin/python tests/oracle/tokenizer_reference.py
With --variants-only it reads the corpus already in --out and writes variants.txt alone (the
corpus generator draws on the Python version's Unicode tables, so a regenerated corpus could
differ from the one every reference id file was computed on).
"""
import argparse
import json
import os
import random
import struct
import sys
import unicodedata

import gguf
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_GGUF = os.path.join(ROOT, "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Qwen3.5's tokenizer.json (llama.cpp's "qwen35") and o200k's (gpt-oss; llama.cpp's "gpt-4o").
QWEN35_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}|"
                  r" ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT4O_PATTERN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
                 r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
                 r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Split variants: name -> (pattern, ignore_merges).
VARIANTS = {"llama3_split": (LLAMA3_PATTERN, True), "qwen2_split": (QWEN2_PATTERN, False),
            "qwen35_split": (QWEN35_PATTERN, False), "gpt4o_split": (GPT4O_PATTERN, False)}

WORDS = ("the of and to in is you that it he was for on are as with his they I at be this have "
         "from or one had by word but not what all were we when your can said there use an each "
         "which she do how their if will up other about out many then them these so some her "
         "would make like him into time has look two more write go see number no way could people "
         "my than first water been call who oil its now find long down day did get come made may "
         "part kernel process thread memory cache latency throughput query cluster node pod "
         "container deployment service ingress namespace Azure Kusto table summarize where").split()
CONTRACTIONS = ["it's", "don't", "we're", "they've", "I'm", "you'll", "he'd", "IT'S", "DON'T",
                "We'Re", "o'clock", "rock'n'roll", "'tis", "can't", "won't", "y'all"]
SHELL = ["ls -la /var/log | grep -E 'error|warn' | head -n 20",
         "find . -name '*.py' -mtime -7 -exec wc -l {} +",
         "docker run --rm -it -v $(pwd):/work -e FOO=bar ubuntu:22.04 bash -lc 'make -j$(nproc)'",
         "kubectl get pods -n kube-system -o jsonpath='{.items[*].metadata.name}'",
         "awk -F: '$3 >= 1000 {print $1}' /etc/passwd | sort -u",
         "tar -czvf backup_$(date +%Y%m%d).tar.gz ~/projects && rsync -avz --delete src/ host:/dst/",
         "for f in *.log; do gzip -9 \"$f\"; done 2>/dev/null || true",
         "curl -sSfL -H 'Authorization: Bearer $TOKEN' https://example.com/api/v2/items?limit=100",
         "sed -i 's/\\bfoo\\b/bar/g' config.yaml; echo \"done: $?\"",
         "ps aux --sort=-%mem | awk 'NR<=10{print $2, $4, $11}'",
         "az vm list -g my-rg --query \"[?powerState=='VM running'].name\" -o tsv",
         "iptables -A INPUT -p tcp --dport 22 -s 10.0.0.0/8 -j ACCEPT"]
CODE = ['def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n'
        '    for _ in range(n):\n        a, b = b, a + b\n    return a\n',
        '#include <vector>\n\nint main(int argc, char** argv) {\n\tstd::vector<int> v{1, 2, 3};\n'
        '\tfor (auto& x : v) x *= 2;  // double\n\treturn v.size() == 3 ? 0 : 1;\n}\n',
        'fn main() {\n    let s: String = "héllo".to_uppercase();\n    println!("{s:?} {}", s.len());\n}\n',
        'SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id\n'
        'WHERE o.created_at >= NOW() - INTERVAL \'7 days\' GROUP BY 1 HAVING n > 3;\n',
        'StormEvents\n| where StartTime > ago(7d)\n| summarize count() by State\n| top 10 by count_\n',
        'const f = async (x) => { await fetch(`/api/${x}`); return x ?? 0; };\n',
        '    if (x != 0 && y <= 10 || z >= -1) { return x << 2 | y >> 1; }\n',
        '<html><body class="main"><p>Hello &amp; goodbye</p><!-- comment --></body></html>\n']
SCRIPTS = [(0x4E00, 0x9FA5), (0x3041, 0x3096), (0x30A1, 0x30FA), (0xAC00, 0xD7A3), (0x0410, 0x044F),
           (0x0391, 0x03C9), (0x05D0, 0x05EA), (0x0621, 0x064A), (0x0905, 0x0939), (0x0E01, 0x0E30),
           (0x00C0, 0x00FF), (0x0100, 0x017F)]
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🇯🇵", "❤️", "🔥", "✨", "🧑‍💻", "🏳️‍🌈", "☕", "🚀", "🤖"]
SPACES = [" ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2028",
          "\u0085", "\u2003", "\u200b", "\ufeff", "\x0b", "\x0c", " " * 17, "\t\t\t", "\n" * 5]
DIGITS = ["1234567890", "3.14159", "1,000,000", "٣٤٥", "１２３", "²³", "Ⅻ", "½", "0x1F", "1e-9",
          "2024-01-31T12:34:56Z", "v1.2.3", "192.168.0.1", "-42", "٠١٢٣٤٥٦٧٨٩"]
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<repo_name>", "<file_sep>",
            "<|im_start", "im_end|>", "<|im_start|><|im_end|>", "< |im_start| >", "<jupyter_code>"]
INVALID_AS_TEXT = ["\ufffd", "\ufffd\ufffd", "\\xff\\xfe", "%C3%28", "\\ud800", "\x00", "\x01\x02",
                   "\x7f", "\x1b[31mred\x1b[0m", "\u0301", "e\u0301", "\u202e", "\ufffe", "\U0010fffd"]


def old_assigned(cp):
    """Code points assigned with the same category since Unicode 3.2 (stable across engines)."""
    c = chr(cp)
    cat = unicodedata.ucd_3_2_0.category(c)
    return cat not in ("Cn", "Cs", "Co") and cat == unicodedata.category(c)


def random_unicode(rng, n):
    out = []
    while len(out) < n:
        cp = rng.choice([rng.randint(0x20, 0x2FF), rng.randint(0x300, 0xFFFD),
                         rng.randint(0x10000, 0x1FAFF)])
        if old_assigned(cp):
            out.append(chr(cp))
    return "".join(out)


def prose(rng, n):
    parts = []
    for _ in range(n):
        w = rng.choice(WORDS) if rng.random() > 0.1 else rng.choice(CONTRACTIONS)
        if rng.random() < 0.1:
            w = w.capitalize()
        if rng.random() < 0.05:
            w = w.upper()
        parts.append(w)
        parts.append(rng.choice([" ", " ", " ", ", ", ". ", "! ", "? ", "; ", " - ", "\n", "  "]))
    return "".join(parts)


def script_text(rng, n):
    lo, hi = rng.choice(SCRIPTS)
    s = []
    for _ in range(n):
        s.append(chr(rng.randint(lo, hi)))
        if rng.random() < 0.15:
            s.append(rng.choice([" ", "。", "、", ", ", "\n", "！", "？"]))
    return "".join(s)


def json_doc(rng):
    def value(depth):
        r = rng.random()
        if depth > 3 or r < 0.3:
            return rng.choice([rng.randint(-10**9, 10**9), rng.random() * 1e6, True, None,
                               prose(rng, 3).strip(), script_text(rng, 5), rng.choice(EMOJI)])
        if r < 0.65:
            return {rng.choice(WORDS) + str(rng.randint(0, 99)): value(depth + 1)
                    for _ in range(rng.randint(1, 5))}
        return [value(depth + 1) for _ in range(rng.randint(0, 5))]
    return json.dumps(value(0), ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2, 4, "\t"]))


def mixed(rng, n):
    gens = [lambda: prose(rng, rng.randint(1, 8)), lambda: script_text(rng, rng.randint(1, 12)),
            lambda: rng.choice(EMOJI), lambda: rng.choice(SPACES), lambda: rng.choice(DIGITS),
            lambda: rng.choice(SPECIALS), lambda: rng.choice(INVALID_AS_TEXT),
            lambda: rng.choice(SHELL), lambda: random_unicode(rng, rng.randint(1, 6)),
            lambda: str(rng.randint(0, 10**rng.randint(1, 30)))]
    return "".join(rng.choice(gens)() for _ in range(n))


def corpus():
    rng = random.Random(20250131)
    docs = ["", " ", "a", "Hello world", "  leading", "trailing  ", "\n", "1", "12345678901234567890",
            " " * 10000 + "x", "\n" * 3000, "\t \t \n" * 500, "ab" * 5000, "😀" * 1000,
            "".join(chr(c) for c in range(0x20, 0x7f)), "<|im_start|>user\nHi<|im_end|>\n"]
    size = sum(len(d.encode()) for d in docs)
    kinds = [lambda: prose(rng, rng.randint(20, 400)),
             lambda: "".join(rng.choice(CODE) for _ in range(rng.randint(1, 6))),
             lambda: "\n".join(rng.choice(SHELL) for _ in range(rng.randint(1, 10))),
             json_doc,
             lambda: script_text(rng, rng.randint(20, 600)),
             lambda: "".join(rng.choice(EMOJI) + rng.choice(["", " ", "\n"]) for _ in range(rng.randint(5, 80))),
             lambda: "".join(rng.choice(SPACES) + rng.choice(WORDS) for _ in range(rng.randint(5, 80))),
             lambda: mixed(rng, rng.randint(5, 60)),
             lambda: random_unicode(rng, rng.randint(10, 300))]
    while size < 1_100_000:
        k = rng.randrange(len(kinds))
        d = kinds[k](rng) if k == 3 else kinds[k]()
        docs.append(d)
        size += len(d.encode())
    return docs


def tokenizer_json(reader, pre_tokenizer, ignore_merges):
    def strings(name):
        f = reader.fields[name]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tokens = strings("tokenizer.ggml.tokens")
    merges = strings("tokenizer.ggml.merges")
    tt = reader.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 3]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None, "pre_tokenizer": pre_tokenizer,
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                               "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore_merges,
                      "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges}}


def byte_level(use_regex):
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}


def split(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for b in struct.pack(f"<{len(ids)}I", *ids):
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_corpus(out):
    with open(os.path.join(out, "corpus.bin"), "rb") as f:
        data = f.read()
    docs, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        docs.append(data[pos + 4:pos + 4 + n].decode("utf-8"))
        pos += 4 + n
    return docs


def write_variants(out, toks, docs):
    with open(os.path.join(out, "variants.txt"), "w") as f:
        for name in VARIANTS:
            for k, e in enumerate(toks[name].encode_batch(docs, add_special_tokens=False)):
                f.write(f"{name} {k} {len(e.ids)} {fnv1a64(e.ids):016x}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/data/tokenizer"))
    ap.add_argument("--variants-only", action="store_true")
    args = ap.parse_args()
    reader = gguf.GGUFReader(args.gguf)
    configs = {
        "smollm2": (tokenizer_json(reader, {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level(True)]}, False)),
    }
    for name, (pattern, ignore_merges) in VARIANTS.items():
        configs[name] = tokenizer_json(reader, {"type": "Sequence", "pretokenizers": [
            split(pattern), byte_level(False)]}, ignore_merges)
    toks = {k: Tokenizer.from_str(json.dumps(v)) for k, v in configs.items()}
    if args.variants_only:
        write_variants(args.out, toks, read_corpus(args.out))
        return
    docs = corpus()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.bin"), "wb") as f:
        for d in docs:
            b = d.encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b)
    total = 0
    with open(os.path.join(args.out, "smollm2_ids.bin"), "wb") as f:
        for ids in (e.ids for e in toks["smollm2"].encode_batch(docs, add_special_tokens=False)):
            assert max(ids, default=0) < 65536
            f.write(struct.pack(f"<I{len(ids)}H", len(ids), *ids))
            total += len(ids)
    write_variants(args.out, toks, docs)
    # Decode check of the oracle itself: byte-level BPE round-trips valid UTF-8.
    enc = toks["smollm2"].encode(docs[-1], add_special_tokens=False)
    assert toks["smollm2"].decode(enc.ids, skip_special_tokens=False) == docs[-1]
    print(f"{len(docs)} documents, {sum(len(d.encode()) for d in docs)} bytes, {total} tokens",
          file=sys.stderr)


if __name__ == "__main__":
    main()
