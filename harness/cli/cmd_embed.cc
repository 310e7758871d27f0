// sigma-eval embed: sentence embeddings with the embedded all-MiniLM-L6-v2 encoder (the CMDGen
// scorer's model), printed as JSON.
//
//   sigma-eval embed [--model DIR] [--threads N (default 1)] (--text T | --file F)
//
// --file holds one sentence per line (a trailing "\r" is dropped; every line, empty ones too, gets
// an embedding, so output item k is line k). Output:
//   {"model": DIR, "dim": 384, "items": [{"text": T, "ids": [...], "embedding": [...]}, ...]}
// Embeddings are unit length (cosine = dot product); floats are printed round-trip exact.
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/encoder/bert_encoder.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "harness/cli/flags.h"

namespace sigma::cli {
namespace {

Status Run(const std::string& model, int threads, const std::vector<std::string>& texts) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<SentenceEncoder> encoder,
                         SentenceEncoder::Open(model, threads));
  std::string out = "{\"model\": ";
  AppendJsonString(model, &out);
  out += StrCat(", \"dim\": ", encoder->dim(), ", \"items\": [");
  char buf[32];
  for (size_t i = 0; i < texts.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<float> embedding, encoder->Embed(texts[i]));
    out += i == 0 ? "\n  {\"text\": " : ",\n  {\"text\": ";
    AppendJsonString(texts[i], &out);
    out += ", \"ids\": [";
    const std::vector<int32_t> ids = encoder->Encode(texts[i]);
    for (size_t k = 0; k < ids.size(); ++k) out += StrCat(k ? ", " : "", ids[k]);
    out += "], \"embedding\": [";
    for (size_t k = 0; k < embedding.size(); ++k) {
      std::snprintf(buf, sizeof(buf), "%s%.9g", k ? ", " : "", embedding[k]);
      out += buf;
    }
    out += "]}";
  }
  out += "\n]}\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return Status::Ok();
}

}  // namespace

int RunEmbed(const Args& args) {
  std::string model = DefaultEncoderPath(), text, file;
  int64_t threads = 1;  // sentences are short: one thread beats pool hand-offs
  Flags flags("embed", "sigma-eval embed [--model DIR] (--text T | --file F)",
              "Prints unit-length sentence embeddings (all-MiniLM-L6-v2) as JSON.");
  flags.String("model", &model, "sentence-transformers folder (default models/all-minilm-l6-v2)");
  flags.String("text", &text, "one sentence");
  flags.String("file", &file, "a file with one sentence per line");
  flags.Int("threads", &threads, "worker threads (0: all cores); 1 is fastest for short sentences");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (flags.was_set("text") == !file.empty()) {
    return ReportError("embed", InvalidArgumentError("give exactly one of --text and --file"));
  }
  const StatusOr<int> checked_threads = CheckedThreads(threads);
  if (!checked_threads.ok()) return ReportError("embed", checked_threads.status());
  std::vector<std::string> texts;
  if (!file.empty()) {
    StatusOr<std::vector<std::string>> read = ReadLines(file);
    if (!read.ok()) return ReportError("embed", read.status());
    texts = std::move(*read);
  } else {
    texts.push_back(text);
  }
  if (Status s = Run(model, *checked_threads, texts); !s.ok()) {
    return ReportError("embed", s);
  }
  return kExitOk;
}

}  // namespace sigma::cli
