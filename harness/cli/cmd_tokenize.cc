// sigma-eval tokenize: encode text to token ids (a JSON array on stdout), or decode ids to text.
//
//   sigma-eval tokenize --model PATH (--text T | --file F) [--add-special] [--decode]
//   sigma-eval tokenize --model PATH --export-hf DIR
//
// PATH is a model folder (its tokenizer.json), a tokenizer.json file, or a .gguf file. With
// --decode the input is a list of ids ("[1, 2, 3]", "1 2 3" or "1,2,3") and the text is printed as
// is. --export-hf writes the tokenizer as Hugging Face's tokenizer.json and tokenizer_config.json
// into DIR (made if absent; files already there are not overwritten).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"

namespace sigma::cli {
namespace {

// The ids of --decode's input: what encoding prints (a JSON array, "[1, 2, 3]") or ids separated
// by spaces or commas ("1 2 3", "1,2,3"). Anything else (a missing bracket or id, a sign, a word)
// is an error naming the byte where it starts, not a guess.
StatusOr<std::vector<int32_t>> ParseIds(const std::string& text) {
  size_t i = 0;
  const auto at = [&](const char* what) {
    return InvalidArgumentError("--decode: ", what, " at byte ", i, " of '",
                                text.size() > 40 ? text.substr(0, 40) + "..." : text, "'");
  };
  const auto skip_space = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
  };
  const auto is_digit = [&] { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  skip_space();
  const bool bracketed = i < text.size() && text[i] == '[';
  if (bracketed) ++i;
  std::vector<int32_t> ids;
  bool after_comma = false;
  for (skip_space(); i < text.size() && !(bracketed && text[i] == ']'); skip_space()) {
    if (!ids.empty() && !after_comma) {
      if (text[i] == ',') {
        ++i;
        after_comma = true;
        continue;
      }
      if (bracketed) return at("expected ',' or ']'");
    }
    if (!is_digit()) return at("expected a token id (digits)");
    const size_t begin = i;
    while (is_digit()) ++i;
    const long long id = i - begin > 10 ? -1 : std::stoll(text.substr(begin, i - begin));
    if (id < 0 || id > INT32_MAX) {
      i = begin;
      return at("token id out of range");
    }
    ids.push_back(static_cast<int32_t>(id));
    after_comma = false;
  }
  if (after_comma) return at("expected a token id after ','");
  if (bracketed) {
    if (i == text.size()) return at("expected ']'");
    ++i;
    skip_space();
  }
  if (i != text.size()) return at("unexpected text");
  return ids;
}

Status Run(const std::string& model, const std::string& input, bool decode, bool add_special) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::Open(model));
  if (decode) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ParseIds(input));
    for (const int32_t id : ids) {
      if (id >= tokenizer->vocab_size()) {
        return InvalidArgumentError("--decode: token id ", id, " is past the vocabulary (",
                                    tokenizer->vocab_size(), " tokens)");
      }
    }
    const std::string text = tokenizer->Decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return Status::Ok();
  }
  const std::vector<int32_t> ids = tokenizer->Encode(input, add_special);
  std::string out = "[";
  for (size_t k = 0; k < ids.size(); ++k) {
    if (k) out += ", ";
    out += std::to_string(ids[k]);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return Status::Ok();
}

Status ExportHf(const std::string& model, const std::string& dir) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::Open(model));
  SIGMA_ASSIGN_OR_RETURN(Tokenizer::HfFiles files, tokenizer->ToHfFiles());
  const std::string json = dir + "/tokenizer.json", config = dir + "/tokenizer_config.json";
  for (const std::string& path : {json, config}) {
    if (FileExists(path)) return FailedPreconditionError(path, " exists; remove it first");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgumentError("--export-hf: cannot make ", dir, ": ", ec.message());
  SIGMA_RETURN_IF_ERROR(WriteFileAtomic(json, files.tokenizer_json));
  SIGMA_RETURN_IF_ERROR(WriteFileAtomic(config, files.tokenizer_config_json));
  std::printf("wrote %s and %s\n", json.c_str(), config.c_str());
  return Status::Ok();
}

}  // namespace

int RunTokenize(const Args& args) {
  std::string model, text, file, export_dir;
  bool decode = false, add_special = false;
  Flags flags("tokenize",
              "sigma-eval tokenize --model PATH (--text T | --file F) [--decode] | --export-hf DIR",
              "Encodes text to token ids (JSON array), decodes ids to text, or writes the "
              "tokenizer as Hugging Face files.");
  flags.String("model", &model, "model folder, tokenizer.json or .gguf file");
  flags.String("text", &text, "input text (ids with --decode)");
  flags.String("file", &file, "read the input from this file instead");
  flags.Bool("decode", &decode, "decode ids to text");
  flags.Bool("add-special", &add_special, "add the tokenizer's BOS/EOS template tokens");
  flags.String("export-hf", &export_dir,
               "write the tokenizer as Hugging Face's tokenizer.json and tokenizer_config.json "
               "into this folder instead");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (model.empty()) return ReportError("tokenize", InvalidArgumentError("--model is required"));
  if (!export_dir.empty()) {
    if (flags.was_set("text") || !file.empty() || decode || add_special) {
      return ReportError("tokenize",
                         InvalidArgumentError("--export-hf takes no --text, --file, --decode or "
                                              "--add-special"));
    }
    if (Status s = ExportHf(model, export_dir); !s.ok()) return ReportError("tokenize", s);
    return kExitOk;
  }
  if (flags.was_set("text") == !file.empty()) {
    return ReportError("tokenize", InvalidArgumentError("give exactly one of --text and --file"));
  }
  if (!file.empty()) {
    StatusOr<std::string> read = ReadFile(file);
    if (!read.ok()) return ReportError("tokenize", read.status());
    text = std::move(*read);
  }
  if (Status s = Run(model, text, decode, add_special); !s.ok()) return ReportError("tokenize", s);
  return kExitOk;
}

}  // namespace sigma::cli
