#!/usr/bin/env python3
"""Expected ids of the real vocabularies (models/vocab/) on the 1.1 MB conformance corpus.

A test-time oracle only: the product never runs Python. For every llama.cpp vocabulary file that
scripts/setup.sh fetches (models/vocab/ggml-vocab-NAME.gguf, the ones with Hugging Face test ids),
llama.cpp itself (llama-cpp-python, vocab only; no BOS, added tokens in the text matched)
tokenizes
  - every document of tests/data/tokenizer/corpus.bin (some hold added tokens' texts), and
  - "special" documents: the first 300 documents of under 400 bytes, each with three of the
    vocabulary's added tokens (types control and user-defined, ordered by id, the k-th chosen
    as below) put in at a third, two thirds (moved back to a character's start), and the end of
    it, with and without a space around,
and writes tests/data/tokenizer/vocab_ids.txt: for each vocabulary and KIND (corpus, special) a
line "NAME KIND N", then N lines "COUNT HASH", a document's id count and the low 32 bits of the
FNV-1a 64 hash of its ids as little-endian u32 (in hex), which
tests/engine/tokenizer/vocab_conformance_test.cc compares with the engine.
llama.cpp's regexes and added-token rules are its own implementation; where Hugging Face's
tokenizer could be built from the file alone, `tokenizers` encodes every document too, and where
the two disagree the expected ids are Hugging Face's: deepseek-llm (its tokenizer.json's Split
regexes are the ones llama.cpp lists, then Digits and ByteLevel; one corpus document, whose
"  \u3000" llama.cpp keeps in one piece) and phi-3 (hf_phi3; four special documents, where an
rstrip token is followed by non-ASCII whitespace, which llama.cpp keeps and Hugging Face drops).
Run (network to PyPI only for the venv; building llama-cpp-python takes a few minutes):
  python3 -m venv /tmp/lcpp && /tmp/lcpp/bin/pip install llama-cpp-python gguf numpy tokenizers
  /tmp/lcpp/bin/python tests/oracle/vocab_reference.py

With --check-exported DIR it writes nothing, and checks instead that Hugging Face's `tokenizers`
gives those ids with the tokenizer.json the engine exports of each vocabulary, after
  for v in models/vocab/*.gguf; do n=$(basename $v .gguf); \
    build/harness/sigma-eval tokenize --model $v --export-hf DIR/${n#ggml-vocab-}; done
(exit status 1 when any document differs).
"""
import os
import struct
import sys

import gguf
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCAB_DIR = os.path.join(ROOT, "models/vocab")
DATA = os.path.join(ROOT, "tests/data/tokenizer")


def fnv1a64(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for b in struct.pack("<I", i & 0xffffffff):
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def corpus():
    with open(os.path.join(DATA, "corpus.bin"), "rb") as f:
        data = f.read()
    docs, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        docs.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return docs


def added_tokens(path):
    """Texts of the control and user-defined tokens, by id (what the engine splits out)."""
    r = gguf.GGUFReader(path)
    f = r.fields["tokenizer.ggml.tokens"]
    texts = [bytes(f.parts[i]) for i in f.data]
    types = gguf_numbers(r, "tokenizer.ggml.token_type", int)
    return [t for t, k in zip(texts, types) if k in (3, 4) and t]


def boundary(d, pos):
    """pos, moved back to the start of the UTF-8 sequence it is in."""
    while 0 < pos < len(d) and d[pos] & 0xc0 == 0x80:
        pos -= 1
    return pos


def special_docs(docs, added):
    """The documents with added tokens put in; the test builds the same ones."""
    out = []
    short = [d for d in docs if len(d) < 400][:300]
    for i, d in enumerate(short):
        def tok(j):
            return added[(7 * i + 3 * j) % len(added)]
        sep = b" " if i % 2 else b""
        a, b = boundary(d, len(d) // 3), boundary(d, 2 * len(d) // 3)
        out.append(d[:a] + sep + tok(0) + sep + d[a:b] + tok(1) + sep + d[b:] + tok(2))
    return out


def gguf_strings(reader, key):
    f = reader.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def gguf_numbers(reader, key, kind):
    f = reader.fields[key]
    return [kind(f.parts[i][0]) for i in f.data]


def hf_deepseek_llm(path):
    """DeepSeek LLM's tokenizer in Hugging Face `tokenizers`, from the GGUF's vocabulary."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, pre_tokenizers as pt
    r = gguf.GGUFReader(path)
    tokens = gguf_strings(r, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in gguf_strings(r, "tokenizer.ggml.merges")]
    types = gguf_numbers(r, "tokenizer.ggml.token_type", int)
    letters = ("\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf"
               "\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386"
               "\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f"
               "\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf"
               "\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45"
               "\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4"
               "\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb"
               "\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115"
               "\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f"
               "\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2"
               "\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e"
               "\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a"
               "\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb"
               "\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df"
               "\U0001e900-\U0001e943]+")
    splits = ["[\r\n]", letters,
              "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+", "\\s+$",
              "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"]
    tok = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tok.pre_tokenizer = pt.Sequence(
        [pt.Split(Regex(p), "isolated") for p in splits] +
        [pt.Digits(individual_digits=False),
         pt.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, k in zip(tokens, types) if k == 3])
    tok.add_tokens([AddedToken(t, normalized=False) for t, k in zip(tokens, types) if k == 4])
    return tok


def check_exported(names, docs, out_dir):
    from tokenizers import Tokenizer
    with open(os.path.join(DATA, "vocab_ids.txt")) as f:
        lines = f.read().split("\n")
    expected, pos = {}, 0
    while pos < len(lines) and lines[pos]:
        name, kind, n = lines[pos].split()
        expected[(name, kind)] = [tuple(x.split()) for x in lines[pos + 1:pos + 1 + int(n)]]
        pos += 1 + int(n)
    bad = 0
    for name in names:
        tok = Tokenizer.from_file(os.path.join(out_dir, name, "tokenizer.json"))
        added = added_tokens(os.path.join(VOCAB_DIR, f"ggml-vocab-{name}.gguf"))
        for kind, texts in (("corpus", docs), ("special", special_docs(docs, added))):
            differ = 0
            for k, d in enumerate(texts):
                ids = tok.encode(d.decode("utf-8"), add_special_tokens=False).ids
                count, h = expected[(name, kind)][k]
                if (str(len(ids)), f"{fnv1a64(ids) & 0xffffffff:08x}") != (count, h):
                    differ += 1
            print(f"{name} {kind}: {len(texts)} documents, {differ} differ")
            bad += differ
    return 1 if bad else 0


def hf_phi3(path):
    """Phi-3's tokenizer in Hugging Face `tokenizers`, from the GGUF: Llama's (legacy) form, the
    merges from the scores as Hugging Face's converters derive them, and the added tokens rstrip
    but <unk>, <s>, <|endoftext|> (the flags llama.cpp restores for Phi-3 from the model name)."""
    from tokenizers import AddedToken, Tokenizer, models, normalizers
    r = gguf.GGUFReader(path)
    tokens = gguf_strings(r, "tokenizer.ggml.tokens")
    scores = gguf_numbers(r, "tokenizer.ggml.scores", float)
    types = gguf_numbers(r, "tokenizer.ggml.token_type", int)
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = []
    for piece, score in zip(tokens, scores):
        local = [(piece[:k], piece[k:], score) for k in range(1, len(piece))
                 if piece[:k] in vocab and piece[k:] in vocab]
        merges += sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]]))
    merges.sort(key=lambda m: m[2], reverse=True)
    tok = Tokenizer(models.BPE(vocab, [(a, b) for a, b, _ in merges], unk_token="<unk>",
                               fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                           normalizers.Replace(" ", "\u2581")])
    keep = {"<unk>", "<s>", "<|endoftext|>"}
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False, rstrip=t not in keep)
                            for t, k in zip(tokens, types) if k == 3])
    tok.add_tokens([AddedToken(t, normalized=False, rstrip=t not in keep)
                    for t, k in zip(tokens, types) if k == 4])
    return tok


HF_BUILDERS = {"deepseek-llm": hf_deepseek_llm, "phi-3": hf_phi3}


def main():
    names = sorted(f[len("ggml-vocab-"):-len(".gguf")] for f in os.listdir(VOCAB_DIR)
                   if f.endswith(".gguf") and os.path.exists(os.path.join(VOCAB_DIR, f + ".inp")))
    if not names:
        sys.exit(f"no vocabularies in {VOCAB_DIR}: run scripts/setup.sh")
    docs = corpus()
    if len(sys.argv) == 3 and sys.argv[1] == "--check-exported":
        sys.exit(check_exported(names, docs, sys.argv[2]))
    lines = []
    for name in names:
        path = os.path.join(VOCAB_DIR, f"ggml-vocab-{name}.gguf")
        model = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        added = added_tokens(path)
        hf = HF_BUILDERS[name](path) if name in HF_BUILDERS else None
        for kind, texts in (("corpus", docs), ("special", special_docs(docs, added))):
            lines.append(f"{name} {kind} {len(texts)}")
            for k, d in enumerate(texts):
                # special=True: added tokens in the text are matched, as Hugging Face does.
                ids = model.tokenize(d, add_bos=False, special=True)
                if hf is not None:
                    hf_ids = hf.encode(d.decode("utf-8"), add_special_tokens=False).ids
                    if hf_ids != ids:
                        print(f"{name} {kind} document {k}: llama.cpp differs from Hugging Face; "
                              "Hugging Face's ids kept", file=sys.stderr)
                        ids = hf_ids
                lines.append(f"{len(ids)} {fnv1a64(ids) & 0xffffffff:08x}")
        print(name, len(added), "added tokens", file=sys.stderr)
    with open(os.path.join(DATA, "vocab_ids.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
