// sigma-eval: the command-line entry point. Dispatches to the subcommands in commands.h.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "harness/build_info.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"

namespace sigma::cli {
namespace {

struct Command {
  const char* name;
  int (*run)(const Args& args);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"run", RunRun, "evaluate a model (or recorded outputs) on tasks; results to SQLite"},
    {"prompts", RunPrompts, "print the requests a run would send (prompts, token counts)"},
    {"export", RunExport, "write a run's outputs as replay records (JSONL)"},
    {"merge", RunMerge,
     "copy the runs and bench sessions of another results database into this one"},
    {"ls", RunLs, "list the runs in a results database"},
    {"status", RunStatus, "progress of a run, also while it is running"},
    {"show", RunShow, "aggregated scores of a run"},
    {"make-model", RunMakeModel, "write a random-weight checkpoint of any config or preset"},
    {"generate", RunGenerate, "generate a continuation of a prompt with the engine"},
    {"convert", RunConvert,
     "checkpoint folder <-> GGUF (f32, f16, bf16, q8_0), llama Q/K permutation"},
    {"logits", RunLogits, "write the float32 logits of one forward pass"},
    {"bench", RunBench, "decode/prefill speed sweep over models x batch x context"},
    {"inspect", RunInspect, "how the engine reads a model: layers, attention, RoPE, weights"},
    {"tokenize", RunTokenize, "encode text to token ids, or decode ids (tokenizer.json or GGUF)"},
    {"embed", RunEmbed, "sentence embeddings (all-MiniLM-L6-v2) as JSON, as CMDGen scores them"},
    {"sandbox", RunSandbox, "run one command in the bubblewrap sandbox; print the verdict as JSON"},
    {"device", RunDevice, "describe the compute devices this build can use"},
    {"report", RunReport, "render runs as a self-contained HTML (or Markdown/JSON) report"},
    {"compare", RunCompare, "paired regression comparison of two runs; --fail-on for CI"},
    {"serve", RunServe, "serve a model through an OpenAI-compatible HTTP API"},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: sigma-eval <command> [flags]   (sigma-eval <command> --help)\n");
  std::fprintf(out, "       sigma-eval --version\n\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
}

}  // namespace

int ReportError(const std::string& command, const Status& status) {
  std::fprintf(stderr, "sigma-eval %s: %s\n", command.c_str(), status.ToString().c_str());
  switch (status.code()) {
    case StatusCode::kUnavailable: return kExitEnvironment;
    case StatusCode::kAborted: return kExitInterrupted;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kOutOfRange:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnimplemented: return kExitUsage;
    default: return kExitFailed;
  }
}

std::optional<int> ParseFlags(Flags& flags, const Args& args) {
  if (Status s = flags.Parse(args); !s.ok()) return ReportError(flags.command(), s);
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  return std::nullopt;
}

Status CheckOutputFree(const std::string& path, bool force) {
  if (force || path.empty()) return Status::Ok();
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) return Status::Ok();
  if (!std::filesystem::is_directory(status)) {
    return InvalidArgumentError("--out: ", path, " exists; --force replaces it");
  }
  if (!std::filesystem::is_empty(path, error) || error) {
    return InvalidArgumentError("--out: the folder ", path,
                                " is not empty; --force writes the model's files into it");
  }
  return Status::Ok();
}

Status CheckOutputNotADatabase(const std::string& path) {
  static constexpr char kMagic[16] = "SQLite format 3";  // and its NUL: a database's first bytes
  char head[sizeof kMagic] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status::Ok();
  const size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n == sizeof head && std::memcmp(head, kMagic, sizeof head) == 0) {
    return InvalidArgumentError("--out: ", path, " is an SQLite database; not replacing it");
  }
  return Status::Ok();
}

}  // namespace sigma::cli

int main(int argc, char** argv) {
  using namespace sigma::cli;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    PrintUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("%s\n", sigma::EngineBuild().c_str());
    return kExitOk;
  }
  const std::string name = argv[1];
  const Args args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(args);
  }
  std::fprintf(stderr, "sigma-eval: unknown command '%s'\n\n", name.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}
