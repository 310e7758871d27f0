#include "aimicius/cmdgen/cmdgen.h"

#include <algorithm>

#include "aimicius/common/text.h"
#include "engine/base/json.h"

namespace sigma::aimicius {
namespace {

constexpr size_t kMaxCommandBytes = 4096;
constexpr size_t kMaxEmbeddedOutputBytes = 16 * 1024;

StatusOr<double> EmbeddingCosine(Embedder& embedder, std::string_view a, std::string_view b) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<float> ea, embedder.Embed(a));
  SIGMA_ASSIGN_OR_RETURN(std::vector<float> eb, embedder.Embed(b));
  SIGMA_ASSIGN_OR_RETURN(double c, Cosine(ea, eb));
  return std::max(0.0, c);
}

std::string OutputText(const tasks::ExecResult& r) {
  std::string text(Trim(r.stdout_data));
  std::string_view err = Trim(r.stderr_data);
  if (!err.empty()) {
    if (!text.empty()) text.push_back('\n');
    text.append(err);
  }
  if (text.size() > kMaxEmbeddedOutputBytes) text.resize(kMaxEmbeddedOutputBytes);
  return text;
}

StatusOr<tasks::ExecResult> RunCommand(tasks::Executor& executor, const std::string& command,
                                       const CmdGenOptions& options) {
  tasks::ExecRequest request;
  request.argv = {options.shell, "-c", command};
  request.limits = options.limits;
  request.profile = "host-tools";
  request.env = {{"LC_ALL", "C"}, {"TERM", "dumb"}};
  SIGMA_ASSIGN_OR_RETURN(tasks::ExecResult r, executor.Run(request));
  if (r.verdict == tasks::Verdict::kSandboxError) {
    return UnavailableError("CMDGen: the sandbox failed: ", r.detail);
  }
  return r;
}

// First non-empty, non-comment line with '\' continuations joined.
std::string FirstCommandLine(std::string_view text) {
  std::string command;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (command.empty() && (line.empty() || line.starts_with("#"))) continue;
    if (command.empty() && (line.starts_with("$ ") || line == "$")) line = Trim(line.substr(1));
    if (line.ends_with("\\")) {
      command += std::string(Trim(line.substr(0, line.size() - 1))) + " ";
      continue;
    }
    command += line;
    break;
  }
  command = std::string(Trim(command));
  if (command.size() > kMaxCommandBytes) command.resize(kMaxCommandBytes);
  return command;
}

}  // namespace

StatusOr<CmdGenRecord> ParseCmdGenRecord(const rapidjson::Value& object, std::string_view where) {
  if (!object.IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
  JsonFields fields(object, std::string(where));
  CmdGenRecord r;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("id", &r.id));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("question", &r.question));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("platform", &r.platform));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("subgroup", &r.subgroup));
  SIGMA_RETURN_IF_ERROR(fields.RequireString("gt_command", &r.gt_command));
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("gt_output", &r.gt_output));
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  if (r.platform != "nvidia" && r.platform != "amd") {
    return InvalidArgumentError(where, ": platform: expected \"nvidia\" or \"amd\", got \"",
                                r.platform, "\"");
  }
  if (Trim(r.gt_command).empty() || r.subgroup.empty()) {
    return InvalidArgumentError(where, ": gt_command and subgroup must not be empty");
  }
  return r;
}

StatusOr<std::vector<CmdGenRecord>> LoadCmdGenRecords(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto docs, LoadJsonlObjects(path));
  std::vector<CmdGenRecord> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(CmdGenRecord r,
                           ParseCmdGenRecord(*docs[i], StrCat(path, ": record ", i)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string CmdGenOptions::ToJson(const Embedder& embedder) const {
  std::string out = StrCat("{\"calibration_threshold\":", calibration_threshold,
                           ",\"success_threshold\":", success_threshold, ",\"embedder\":");
  AppendJsonString(embedder.Name(), &out);
  out += ",\"shell\":";
  AppendJsonString(shell, &out);
  out += StrCat(",\"wall_ms\":", limits.wall_ms, ",\"output_kb\":", limits.output_kb, "}");
  return out;
}

std::string BuildCmdGenPrompt(const CmdGenRecord& record) {
  const bool amd = record.platform == "amd";
  return StrCat(
      "You are an expert on ", amd ? "AMD" : "NVIDIA", " GPU servers running Linux and their "
      "tools (", amd ? "rocm-smi, rocminfo, hipcc, RCCL tests" : "nvidia-smi, nvcc, NCCL tests",
      ", SuperBench).\n"
      "Answer the question with one shell command line that does exactly what is asked, with "
      "every needed option and value. Reply with the command only, inside a ```bash code "
      "block, with no explanation.\n\n"
      "Question: ", record.question, "\n");
}

std::string ExtractCommand(std::string_view output) {
  output = ClipModelOutput(output);
  std::vector<CodeBlock> blocks = ExtractCodeBlocks(output, 16);
  const CodeBlock* block = PickCodeBlock(blocks, {"bash", "sh", "shell", "console", "zsh"});
  if (block == nullptr && !blocks.empty()) block = &blocks.front();
  if (block != nullptr) return FirstCommandLine(block->body);
  const size_t tick = output.find('`');
  if (tick != std::string_view::npos) {
    const size_t close = output.find('`', tick + 1);
    if (close != std::string_view::npos && close > tick + 1 &&
        output.substr(tick + 1, close - tick - 1).find('\n') == std::string_view::npos) {
      return FirstCommandLine(output.substr(tick + 1, close - tick - 1));
    }
  }
  return FirstCommandLine(output);
}

std::vector<std::string> ShellWords(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word.push_back(c);
      }
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < command.size() &&
                 std::string_view("\"\\$`").find(command[i + 1]) != std::string_view::npos) {
        word.push_back(command[++i]);
      } else {
        word.push_back(c);
      }
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '\\' && i + 1 < command.size()) {
        word.push_back(command[++i]);
      } else {
        word.push_back(c);
      }
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

StatusOr<TaskScore> ScoreCmdGen(const CmdGenRecord& record, std::string_view output,
                                Embedder& embedder, tasks::Executor* executor,
                                const CmdGenOptions& options) {
  TaskScore score;
  score.extracted = ExtractCommand(output);
  const std::string& gen = score.extracted;
  double cmd_score = 0;
  if (!gen.empty()) {
    SIGMA_ASSIGN_OR_RETURN(cmd_score, EmbeddingCosine(embedder, gen, record.gt_command));
  }
  const bool em = !gen.empty() && ShellWords(gen) == ShellWords(record.gt_command);
  score.metrics["cmd_score"] = cmd_score;
  score.metrics["exact_match"] = em;
  const bool cmd_calibrated = cmd_score > options.calibration_threshold;

  bool executable = executor != nullptr;
  tasks::ExecResult gt_run;
  if (executable) {
    SIGMA_ASSIGN_OR_RETURN(gt_run, RunCommand(*executor, record.gt_command, options));
    executable = gt_run.exit_code != 127;  // the shell's "command not found": the tool is absent
  }
  score.metrics["output_executable"] = executable;
  if (!executable) {
    score.detail = executor == nullptr ? "no sandbox: outputs not measured"
                                       : "the reference command's tool is not installed here";
    score.metrics["calibration_lb"] = cmd_calibrated;
    score.metrics["accuracy_lb"] = em;
    return score;
  }
  tasks::ExecResult gen_run;
  gen_run.verdict = tasks::Verdict::kRuntimeError;
  if (!gen.empty()) {
    SIGMA_ASSIGN_OR_RETURN(gen_run, RunCommand(*executor, gen, options));
  }
  const std::string want = OutputText(gt_run);
  const std::string got = gen.empty() ? "" : OutputText(gen_run);
  double output_score = 0;
  if (want.empty() || got.empty()) {
    output_score = want.empty() && got.empty() ? 1.0 : 0.0;
  } else {
    SIGMA_ASSIGN_OR_RETURN(output_score, EmbeddingCosine(embedder, got, want));
  }
  const bool same_status = !gen.empty() && gen_run.verdict == gt_run.verdict &&
                           gen_run.exit_code == gt_run.exit_code;
  const bool similar = CollapseWhitespace(got) == CollapseWhitespace(want) ||
                       output_score >= options.success_threshold;
  const bool success = same_status && similar;
  const bool calibrated = cmd_calibrated || output_score > options.calibration_threshold;
  score.metrics["output_score"] = output_score;
  score.metrics["success_ratio"] = success;
  score.metrics["calibration"] = calibrated;
  score.metrics["accuracy"] = em || success;
  score.metrics["calibration_lb"] = calibrated;
  score.metrics["accuracy_lb"] = em || success;
  score.stats["gt_exit_code"] = gt_run.exit_code;
  score.stats["gen_exit_code"] = gen_run.exit_code;
  return score;
}

}  // namespace sigma::aimicius
