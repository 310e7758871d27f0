#!/usr/bin/env python3
"""Reference embeddings for the all-MiniLM-L6-v2 conformance test (tests/engine/encoder/).

A test-time oracle only: the product never runs Python or torch. It encodes 100 fixed sentences
(shell commands, GPU tool output, prose, accents, CJK and Hangul, emoji, control characters,
special-token look-alikes, words past max_input_chars_per_word, texts past 256 tokens) with the
public implementation, sentence-transformers (SentenceTransformer on the CPU, float32; it
tokenizes with Hugging Face `tokenizers` BertTokenizerFast and truncates to max_seq_length 256),
from the model folder scripts/setup.sh unpacks, and writes
  tests/data/minilm/cases.json       [{"text": str, "ids": [int]}] in order ([CLS] ... [SEP])
  tests/data/minilm/embeddings.f32   100 x 384 little-endian float32, unit length, same order
Run (PyPI only; torch comes in as a dependency of sentence-transformers):
  python3 -m venv /tmp/minilm-venv && /tmp/minilm-venv/bin/pip install sentence-transformers
  /tmp/minilm-venv/bin/python tests/oracle/minilm_reference.py
"""
import argparse
import json
import os
import random

import numpy as np
from sentence_transformers import SentenceTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models/all-minilm-l6-v2")
OUT = os.path.join(ROOT, "tests/data/minilm")

COMMANDS = [
    "nvidia-smi",
    "nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader",
    "nvidia-smi -q -d TEMPERATURE,POWER -i 0",
    "nvidia-smi topo -m",
    "nvidia-smi nvlink --status -i 3",
    "nvidia-smi -pm 1 && nvidia-smi -ac 1215,1410",
    "dcgmi diag -r 3 -j | jq '.category[].tests[] | select(.results[].status != \"Pass\")'",
    "rocm-smi --showtemp --showpower --showmeminfo vram",
    "rocm-smi --showtopo",
    "amd-smi metric --gpu 0 --usage --power",
    "lspci -nn | grep -i -E 'vga|3d|nvidia|amd'",
    "cat /proc/driver/nvidia/version",
    "dmesg -T | grep -i xid | tail -n 20",
    "journalctl -k --since '1 hour ago' | grep -E 'NVRM|amdgpu'",
    "ibstat mlx5_0 | grep -A2 'Port 1'",
    "ib_write_bw -d mlx5_1 -F --report_gbits 10.0.0.2",
    "sudo systemctl restart nvidia-fabricmanager.service",
    "kubectl get pods -n gpu-operator -o wide --field-selector=status.phase!=Running",
    "docker run --rm --gpus all nvcr.io/nvidia/cuda:12.4.0-base-ubuntu22.04 nvidia-smi -L",
    "for i in $(seq 0 7); do nvidia-smi -i $i --query-gpu=ecc.errors.uncorrected.volatile.total --format=csv; done",
    "awk -F, 'NR>1 {s+=$3} END {print s/NR}' gpu_util.csv",
    "python3 -c \"import torch; print(torch.cuda.get_device_name(0))\"",
    "find / -name 'libcuda.so*' 2>/dev/null | xargs ls -l",
    "echo $((16#FF)) && printf '%x\\n' 4096",
    "lscpu | grep -E '^(Model name|Socket|NUMA)'",
]

TOOL_OUTPUT = [
    "| NVIDIA-SMI 535.129.03   Driver Version: 535.129.03   CUDA Version: 12.2 |\n"
    "| 0  NVIDIA H100 80GB HBM3   On | 00000000:18:00.0 Off | 0 |\n"
    "| N/A 34C P0 71W / 700W | 4MiB / 81559MiB | 0% Default |",
    "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5f2c1a7e-9b3d-4c8e-a1f0-123456789abc)",
    "        GPU0    GPU1    GPU2    GPU3    CPU Affinity    NUMA Affinity\n"
    "GPU0     X      NV12    NV12    NV12    0-47            0\nGPU1    NV12     X      NV12    NV12",
    "======================= ROCm System Management Interface =======================\n"
    "GPU  Temp (DieEdge)  AvgPwr  SCLK     MCLK     Fan  Perf  PwrCap  VRAM%  GPU%\n"
    "0    38.0c           92.0W   1700Mhz  1600Mhz  0%   auto  560.0W    0%   0%",
    "[Mon Mar  4 10:12:55 2024] NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, GPU has fallen off the bus.",
    "Power Draw : 312.45 W\nPower Limit : 400.00 W\nGPU Current Temp : 61 C\nMemory Used : 40536 MiB",
    "name, memory.total [MiB], memory.used [MiB]\nNVIDIA H200, 143771 MiB, 1 MiB",
    "CA 'mlx5_0'\n\tCA type: MT4123\n\tPort 1:\n\t\tState: Active\n\t\tRate: 200",
    "{\"gpu\": 0, \"sm_clock_mhz\": 1980, \"mem_clock_mhz\": 2619, \"throttle\": [\"SW Power Cap\"]}",
    "Error: unable to determine the device handle for GPU0000:86:00.0: Unknown Error",
]

PROSE = [
    "The GPU is overheating because the fan speed is stuck at 30 percent.",
    "Show me the memory usage of every GPU on this node.",
    "How many NVLink connections does each A100 have, and are they all active?",
    "List the processes that are using more than 10 GB of device memory.",
    "Restart the fabric manager service and check whether the error persists.",
    "A quick brown fox jumps over the lazy dog.",
    "Sigma reduces the number of key heads more aggressively than the number of value heads.",
    "Check the ECC error counters; if any uncorrectable errors appear, drain the node.",
    "Mixed CASE Words And ALL CAPS SHOULD LOWERCASE the same way.",
    "Numbers like 3.14159, 1e-12, 0x1F and 2,048 are split at punctuation.",
    "Don't forget: it's the user's job (not the admin's) to free the GPU!",
    "What is the PCIe link width and generation of GPU 3?",
    "Why does `nvidia-smi` report N/A for the fan speed on SXM modules?",
    "",
    "   leading and trailing spaces   ",
]

UNICODE = [
    "Café crème brûlée à la mode, naïve façade, coöperate, résumé.",
    "Ångström, Øresund, Łódź, Dvořák, Škoda, Ærøskøbing, Straße.",
    "İstanbul'da ISTANBUL ve ıslak; ΣΊΣΥΦΟΣ καί σίσυφος.",
    "Привет, мир! Проверка видеокарты: температура 65°C.",
    "Tiếng Việt có nhiều dấu: Hà Nội, Đà Nẵng, Huế.",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and ﬁ ligature, ℌ, ①, ²",
    "Combining: e\u0301 a\u0300 o\u0308 n\u0303 vs precomposed é à ö ñ; order o\u0323\u0302 vs o\u0302\u0323",
    "Arabic: وحدة معالجة الرسومات؛ Hebrew: מעבד גרפי; Hindi: ग्राफ़िक्स कार्ड",
    "Emoji 🚀🔥 GPU 🥲🫠 flags 🇩🇪 family 👨‍👩‍👧 ok 👍🏽",
    "Zero\u200bwidth\u200cjoiners\u200d and soft\u00adhyphen and BOM\ufeffinside",
    "Control\x00chars\x01here\x07and\x1b[31mANSI\x1b[0m escapes\x7f done",
    "Tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeed\u2028line\u2029para\u3000ideographic\u00a0nbsp",
    "Replacement char \ufffd and private use \ue000 and unassigned \U000e0001 tag",
    "Special tokens [CLS] inside [SEP] text [MASK] and [UNK] and [PAD] and [cls] [SEP",
    "Math: ∑ x² ≤ ∞, α→β, ∂f/∂x = 0, √2 ≈ 1.414, 10⁻¹² ±0.5",
    "Currency $100 €50 £20 ¥1000 ₹500 ₿0.1; symbols ©®™§¶†‡•…‰",
    "Quotes “curly” ‘single’ «guillemets» „low“ and dashes – — ‐ ‑",
]

CJK = [
    "显卡温度过高，请检查风扇是否正常运转。",
    "GPUのメモリ使用量を確認してください。nvidia-smiを実行します。",
    "그래픽 카드의 온도가 너무 높습니다. 팬을 확인하세요.",
    "漢字とひらがなとカタカナ、한글과 English mixed 中文混合 text.",
    "𠀀𠀁 rare ideographs 𪜀 𫝀 and compatibility 豈 更 車",
]

ASCII_EDGE = [
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "!!!???...---___***&&&@@@###$$$%%%^^^~~~```|||\\\\\\///<<<>>>===+++",
    "CamelCaseIdentifiersAndsnake_case_names and kebab-case-words in code_paths/like/this.py",
    "https://example.com/path?query=1&other=two#fragment user@example.org 192.168.0.1:8080",
    "x",
    "1234567890 0987654321 3.1415926535 -273.15 +42",
]


def long_texts(rng):
    words = ("gpu memory kernel driver temperature power throttle nvlink fabric cuda rocm "
             "bandwidth latency node cluster error reset firmware clock utilization").split()
    out = []
    for n in (180, 300, 600):
        out.append(" ".join(rng.choice(words) for _ in range(n)) + ".")
    out.append(" ".join(COMMANDS))  # many pieces per word: well past 256 tokens
    out.append("\n".join(TOOL_OUTPUT[:6]) * 3)
    return out


def sentences():
    rng = random.Random(20250101)
    texts = COMMANDS + TOOL_OUTPUT + PROSE + UNICODE + CJK + ASCII_EDGE + long_texts(rng)
    # Fill to 100 with deterministic mixtures of the above.
    pool = COMMANDS + PROSE + UNICODE + CJK
    while len(texts) < 100:
        a, b = rng.sample(pool, 2)
        texts.append(a + " " + b)
    assert len(texts) == 100, len(texts)
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    texts = sentences()
    model = SentenceTransformer(args.model, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    cases = []
    for text in texts:
        ids = model.tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"]
        cases.append({"text": text, "ids": ids})
    emb = model.encode(texts, batch_size=1, convert_to_numpy=True, normalize_embeddings=False)
    emb = np.asarray(emb, dtype="<f4")
    assert emb.shape == (100, 384), emb.shape
    norms = np.linalg.norm(emb, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-4), norms
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=True, indent=0)
        f.write("\n")
    emb.tofile(os.path.join(args.out, "embeddings.f32"))
    lengths = [len(c["ids"]) for c in cases]
    print(f"wrote {len(cases)} cases; ids per case {min(lengths)}..{max(lengths)}, "
          f"{sum(n == 256 for n in lengths)} truncated to 256")


if __name__ == "__main__":
    main()
