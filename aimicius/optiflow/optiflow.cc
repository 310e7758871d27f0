#include "aimicius/optiflow/optiflow.h"

#include <cmath>
#include <cstdio>

#include "aimicius/common/text.h"
#include "engine/base/json.h"

namespace sigma::aimicius {
namespace {

using optiflow::Plan;

std::string FormatNumber(double x) {
  if (!std::isfinite(x)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

std::string MatrixText(const optiflow::Topology& t, const std::vector<std::vector<double>>& m,
                       bool zero_is_inf) {
  std::string out = "        ";
  for (const std::string& name : t.node_names) out += StrCat(" ", name);
  out += "\n";
  for (int u = 0; u < t.num_nodes(); ++u) {
    out += t.node_names[u];
    for (int v = 0; v < t.num_nodes(); ++v) {
      const double x = m[u][v];
      out.push_back(' ');
      out += u == v ? std::string("-") : (zero_is_inf && x == 0) ? "inf" : FormatNumber(x);
    }
    out += "\n";
  }
  return out;
}

StatusOr<Plan> ReadPlan(const rapidjson::Value& object, const char* key, std::string_view where) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return NotFoundError(where, ": missing '", key, "'");
  auto plan = optiflow::ParsePlanJson(it->value);
  if (!plan.ok()) return plan.status().WithContext(StrCat(where, ": ", key));
  return plan;
}

std::string Tail(std::string_view text, size_t n) {
  return std::string(text.size() > n ? text.substr(text.size() - n) : text);
}

}  // namespace

StatusOr<OptiflowRecord> ParseOptiflowRecord(const rapidjson::Value& object,
                                             std::string_view where) {
  if (!object.IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
  OptiflowRecord r;
  SIGMA_ASSIGN_OR_RETURN(r.topology, optiflow::ParseTopology(object, where));
  JsonFields fields(object, std::string(where));
  fields.Ignore({"sku", "nodes", "num_gpus", "latency_us", "bandwidth_gbps", "reference_plan",
                 "improved_plan"});
  SIGMA_RETURN_IF_ERROR(fields.RequireString("id", &r.id));
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("description", &r.description));
  int64_t chunks = 0;
  SIGMA_RETURN_IF_ERROR(fields.RequireInt("chunks_per_gpu", &chunks));
  if (chunks < 1 || chunks > 64) return InvalidArgumentError(where, ": chunks_per_gpu: 1..64");
  r.chunks_per_gpu = static_cast<int>(chunks);
  SIGMA_RETURN_IF_ERROR(fields.RequireDouble("chunk_mb", &r.chunk_mb));
  if (!(r.chunk_mb > 0)) return InvalidArgumentError(where, ": chunk_mb: expected > 0");
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  SIGMA_ASSIGN_OR_RETURN(r.reference_plan, ReadPlan(object, "reference_plan", where));
  Status valid = optiflow::CheckPlan(r.topology, r.chunks_per_gpu, r.reference_plan);
  if (!valid.ok()) return valid.WithContext(StrCat(where, ": reference_plan"));
  if (object.HasMember("improved_plan")) {
    SIGMA_ASSIGN_OR_RETURN(r.improved_plan, ReadPlan(object, "improved_plan", where));
    valid = optiflow::CheckPlan(r.topology, r.chunks_per_gpu, *r.improved_plan);
    if (!valid.ok()) return valid.WithContext(StrCat(where, ": improved_plan"));
    SIGMA_ASSIGN_OR_RETURN(double ref, SimulateLatency(r.topology, r.chunk_mb, r.reference_plan));
    SIGMA_ASSIGN_OR_RETURN(double imp, SimulateLatency(r.topology, r.chunk_mb, *r.improved_plan));
    if (!(imp < ref)) {
      return InvalidArgumentError(where, ": improved_plan (", imp,
                                  " us) is not faster than reference_plan (", ref, " us)");
    }
  }
  return r;
}

StatusOr<std::vector<OptiflowRecord>> LoadOptiflowRecords(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto docs, LoadJsonlObjects(path));
  std::vector<OptiflowRecord> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(OptiflowRecord r,
                           ParseOptiflowRecord(*docs[i], StrCat(path, ": record ", i)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string BuildSkeletonCode(const OptiflowRecord& record) {
  return StrCat(
      "import json\nimport os\n\n"
      "GPU_COUNT = int(os.environ.get(\"GPU_COUNT\", \"", record.topology.num_gpus, "\"))\n"
      "CHUNKS_PER_GPU = int(os.environ.get(\"CHUNKS_PER_GPU\", \"", record.chunks_per_gpu,
      "\"))\n\n\n"
      "def generate_plan(gpu_count, chunks_per_gpu):\n"
      "    \"\"\"Returns the all-gather plan: a list of steps, each a list of transfers.\"\"\"\n"
      "    plan = []\n"
      "    # Example transfer: GPU 0 sends its chunk 1 to GPU 3.\n"
      "    # plan.append([{\"chunk\": [0, 1], \"src\": 0, \"dst\": 3}])\n"
      "    return plan\n\n\n"
      "if __name__ == \"__main__\":\n"
      "    print(json.dumps(generate_plan(GPU_COUNT, CHUNKS_PER_GPU)))\n");
}

std::string BuildOptiflowPrompt(const OptiflowRecord& record) {
  const optiflow::Topology& t = record.topology;
  return StrCat(
      "Write an all-gather communication plan for the multi-GPU machine ", t.sku, ".\n",
      record.description.empty() ? "" : record.description + "\n",
      "Nodes GPU0..GPU", t.num_gpus - 1, " are GPUs; any other node is a switch.\n"
      "Link latency in microseconds (inf = no link):\n", MatrixText(t, t.latency_us, false),
      "Link bandwidth in GB/s (inf = no link):\n", MatrixText(t, t.bandwidth_gbps, true),
      "\nEach GPU starts with ", record.chunks_per_gpu, " chunk(s) of ", FormatNumber(record.chunk_mb),
      " MB; chunk (g, i) is chunk i of GPU g. All-gather: at the end every GPU must hold every "
      "chunk.\n"
      "Plan rules:\n"
      "- A plan is a list of steps; the transfers of a step run at the same time, and a step "
      "ends when its slowest transfer ends.\n"
      "- A transfer {\"chunk\": [g, i], \"src\": s, \"dst\": d} copies chunk (g, i) from GPU s "
      "to GPU d. GPU s must hold the chunk when the step starts (chunks received in a step can "
      "be forwarded from the next step on).\n"
      "- A transfer uses the direct link s->d if there is one, else it goes through a switch "
      "linked to both. Transfers that share a link in the same step share its bandwidth.\n"
      "Complete this program so that it prints the plan as JSON on its last line of output:\n"
      "```python\n", BuildSkeletonCode(record),
      "```\nReply with the complete Python program in one ```python code block.\n");
}

std::string BuildImprovePrompt(const OptiflowRecord& record, std::string_view previous_code,
                               double latency_us) {
  return StrCat(
      "Your program for ", record.topology.sku, " printed a valid all-gather plan:\n```python\n",
      previous_code, previous_code.ends_with("\n") ? "" : "\n",
      "```\nIts simulated latency is ", FormatNumber(latency_us),
      " microseconds. Improve the plan so that it is still a valid all-gather under the same "
      "rules and its latency is lower. Reply with the complete improved Python program in one "
      "```python code block.\n");
}

std::optional<std::string> ExtractPythonCode(std::string_view output) {
  std::vector<CodeBlock> blocks = ExtractCodeBlocks(output, 16);
  const CodeBlock* block = PickCodeBlock(blocks, {"python", "py", "python3"});
  if (block == nullptr) return std::nullopt;
  return block->body;
}

void EvaluatePlanStdout(const OptiflowRecord& record, std::string_view stdout_text,
                        PlanAttempt* attempt) {
  auto plan = optiflow::ParsePlanFromStdout(stdout_text);
  if (!plan.ok()) {
    attempt->detail = plan.status().message();
    return;
  }
  Status valid = optiflow::CheckPlan(record.topology, record.chunks_per_gpu, *plan);
  if (!valid.ok()) {
    attempt->detail = "invalid plan: " + valid.message();
    return;
  }
  auto latency = optiflow::SimulateLatency(record.topology, record.chunk_mb, *plan);
  if (!latency.ok()) {
    attempt->detail = latency.status().message();
    return;
  }
  attempt->valid = true;
  attempt->latency_us = *latency;
}

StatusOr<PlanAttempt> EvaluatePlanOutput(const OptiflowRecord& record, std::string_view output,
                                         tasks::Executor* executor,
                                         const OptiflowOptions& options) {
  PlanAttempt attempt;
  std::optional<std::string> code = ExtractPythonCode(output);
  if (!code.has_value()) {
    attempt.detail = "no fenced code block in the output";
    return attempt;
  }
  attempt.code_detected = true;
  attempt.code = *code;
  if (executor == nullptr) {
    return UnavailableError("Optiflow needs a sandbox (tasks::Executor) to run plan programs");
  }
  tasks::ExecRequest request;
  request.argv = {options.python, "plan.py"};
  request.files["plan.py"] = attempt.code;
  request.env = {{"GPU_COUNT", std::to_string(record.topology.num_gpus)},
                 {"CHUNKS_PER_GPU", std::to_string(record.chunks_per_gpu)},
                 {"PYTHONDONTWRITEBYTECODE", "1"}};
  request.limits = options.limits;
  request.profile = "default";
  SIGMA_ASSIGN_OR_RETURN(tasks::ExecResult result, executor->Run(request));
  if (result.verdict == tasks::Verdict::kSandboxError) {
    return UnavailableError("Optiflow record ", record.id, ": the sandbox failed: ", result.detail);
  }
  if (result.verdict != tasks::Verdict::kOk) {
    attempt.detail = StrCat("program ", tasks::VerdictName(result.verdict), " (exit ",
                            result.exit_code, "): ", Tail(result.stderr_data, 400));
    return attempt;
  }
  attempt.executable = true;
  EvaluatePlanStdout(record, result.stdout_data, &attempt);
  return attempt;
}

TaskScore ScoreOptiflow(const PlanAttempt& first, const PlanAttempt* second) {
  TaskScore score;
  score.extracted = first.code;
  score.detail = first.detail;
  score.metrics["code_detected"] = first.code_detected;
  score.metrics["code_executable"] = first.executable;
  score.metrics["plan_valid"] = first.valid;
  bool improved = false;
  if (first.valid) score.stats["latency_us"] = first.latency_us;
  if (first.valid && second != nullptr) {
    if (second->valid) score.stats["improved_latency_us"] = second->latency_us;
    improved = second->valid && second->latency_us < first.latency_us;
    if (!second->detail.empty()) score.detail += "; turn 2: " + second->detail;
    if (second->valid && !improved) score.detail += "; turn 2 plan is not faster";
  }
  score.metrics["plan_improved"] = improved;
  return score;
}

}  // namespace sigma::aimicius
