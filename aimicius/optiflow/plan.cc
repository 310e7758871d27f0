#include "aimicius/optiflow/plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "aimicius/common/text.h"
#include "engine/base/json.h"

namespace sigma::aimicius::optiflow {
namespace {

constexpr int kMaxNodes = 64;

Status ReadMatrix(const rapidjson::Value& record, const char* key, int n, bool null_is_inf,
                  std::string_view where, std::vector<std::vector<double>>* out) {
  auto it = record.FindMember(key);
  if (it == record.MemberEnd() || !it->value.IsArray() ||
      it->value.Size() != static_cast<rapidjson::SizeType>(n)) {
    return InvalidArgumentError(where, ": ", key, ": expected a ", n, "x", n, " array");
  }
  out->assign(n, std::vector<double>(n, 0));
  for (int u = 0; u < n; ++u) {
    const rapidjson::Value& row = it->value[u];
    if (!row.IsArray() || row.Size() != static_cast<rapidjson::SizeType>(n)) {
      return InvalidArgumentError(where, ": ", key, "[", u, "]: expected ", n, " entries");
    }
    for (int v = 0; v < n; ++v) {
      const rapidjson::Value& x = row[v];
      if (x.IsNull()) {
        (*out)[u][v] = null_is_inf ? kNoLink : 0;
      } else if (x.IsNumber() && x.GetDouble() >= 0 && std::isfinite(x.GetDouble())) {
        (*out)[u][v] = x.GetDouble();
      } else {
        return InvalidArgumentError(where, ": ", key, "[", u, "][", v,
                                    "]: expected a non-negative number or null");
      }
    }
  }
  return Status::Ok();
}

int ReadInt(const rapidjson::Value& v) {
  if (v.IsInt()) return v.GetInt();
  return -1;  // out of range for every check, so the transfer is rejected with its position
}

// Parses "D(o, c): G(s) => G(d)" with optional spaces.
class DString {
 public:
  explicit DString(std::string_view s) : s_(s) {}
  bool Parse(Transfer* t) {
    return Lit('D') && Lit('(') && Int(&t->owner) && Lit(',') && Int(&t->chunk) && Lit(')') &&
           Lit(':') && Lit('G') && Lit('(') && Int(&t->src) && Lit(')') && Lit('=') && Lit('>') &&
           Lit('G') && Lit('(') && Int(&t->dst) && Lit(')') && End();
  }

 private:
  void Space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }
  bool Lit(char c) {
    Space();
    if (p_ < s_.size() && s_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Int(int* out) {
    Space();
    size_t digits = 0;
    int64_t v = 0;
    while (p_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_])) && digits < 9) {
      v = v * 10 + (s_[p_++] - '0');
      ++digits;
    }
    *out = static_cast<int>(v);
    return digits > 0;
  }
  bool End() {
    Space();
    return p_ == s_.size();
  }
  std::string_view s_;
  size_t p_ = 0;
};

StatusOr<Transfer> ParseTransfer(const rapidjson::Value& v, size_t step, size_t i) {
  Transfer t;
  if (v.IsString()) {
    if (DString(std::string_view(v.GetString(), v.GetStringLength())).Parse(&t)) return t;
  } else if (v.IsObject()) {
    auto chunk = v.FindMember("chunk");
    auto src = v.FindMember("src");
    auto dst = v.FindMember("dst");
    if (chunk != v.MemberEnd() && src != v.MemberEnd() && dst != v.MemberEnd() &&
        chunk->value.IsArray() && chunk->value.Size() == 2) {
      t.owner = ReadInt(chunk->value[0]);
      t.chunk = ReadInt(chunk->value[1]);
      t.src = ReadInt(src->value);
      t.dst = ReadInt(dst->value);
      return t;
    }
  }
  return InvalidArgumentError("plan step ", step, ", transfer ", i,
                              ": expected {\"chunk\": [owner, index], \"src\": s, \"dst\": d} or "
                              "\"D(owner, index): G(s) => G(d)\"");
}

}  // namespace

bool Topology::HasLink(int u, int v) const {
  return u != v && std::isfinite(latency_us[u][v]) && bandwidth_gbps[u][v] > 0;
}

StatusOr<Topology> ParseTopology(const rapidjson::Value& record, std::string_view where) {
  Topology t;
  JsonFields fields(record, std::string(where));
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("sku", &t.sku));
  SIGMA_RETURN_IF_ERROR(fields.OptionalStringArray("nodes", &t.node_names));
  int64_t num_gpus = 0;
  SIGMA_RETURN_IF_ERROR(fields.RequireInt("num_gpus", &num_gpus));
  const int n = t.num_nodes();
  if (n > kMaxNodes || num_gpus < 2 || num_gpus > n) {
    return InvalidArgumentError(where, ": expected 2 <= num_gpus <= len(nodes) <= ", kMaxNodes);
  }
  t.num_gpus = static_cast<int>(num_gpus);
  SIGMA_RETURN_IF_ERROR(ReadMatrix(record, "latency_us", n, true, where, &t.latency_us));
  SIGMA_RETURN_IF_ERROR(ReadMatrix(record, "bandwidth_gbps", n, false, where, &t.bandwidth_gbps));
  // Every GPU must reach every other by a sequence of GPU-to-GPU routes (relays allowed).
  for (int a = 0; a < t.num_gpus; ++a) {
    std::vector<bool> seen(t.num_gpus, false);
    std::vector<int> frontier = {a};
    seen[a] = true;
    while (!frontier.empty()) {
      const int u = frontier.back();
      frontier.pop_back();
      for (int v = 0; v < t.num_gpus; ++v) {
        if (seen[v] || Route(t, u, v).empty()) continue;
        seen[v] = true;
        frontier.push_back(v);
      }
    }
    for (int b = 0; b < t.num_gpus; ++b) {
      if (!seen[b]) return InvalidArgumentError(where, ": GPU ", b, " cannot be reached from GPU ", a);
    }
  }
  return t;
}

std::vector<std::pair<int, int>> Route(const Topology& t, int src, int dst) {
  if (t.HasLink(src, dst)) return {{src, dst}};
  int best = -1;
  double best_alpha = kNoLink;
  for (int s = t.num_gpus; s < t.num_nodes(); ++s) {
    if (!t.HasLink(src, s) || !t.HasLink(s, dst)) continue;
    const double alpha = t.latency_us[src][s] + t.latency_us[s][dst];
    if (alpha < best_alpha) {
      best_alpha = alpha;
      best = s;
    }
  }
  if (best < 0) return {};
  return {{src, best}, {best, dst}};
}

StatusOr<Plan> ParsePlanJson(const rapidjson::Value& value) {
  if (!value.IsArray()) return InvalidArgumentError("plan: expected an array of steps");
  if (value.Size() > kMaxPlanSteps) {
    return InvalidArgumentError("plan: ", value.Size(), " steps is over the limit of ",
                                kMaxPlanSteps);
  }
  Plan plan;
  size_t total = 0;
  for (rapidjson::SizeType s = 0; s < value.Size(); ++s) {
    const rapidjson::Value& step = value[s];
    if (!step.IsArray()) return InvalidArgumentError("plan step ", s, ": expected an array");
    total += step.Size();
    if (total > kMaxPlanTransfers) {
      return InvalidArgumentError("plan: more than ", kMaxPlanTransfers, " transfers");
    }
    Step parsed;
    for (rapidjson::SizeType i = 0; i < step.Size(); ++i) {
      SIGMA_ASSIGN_OR_RETURN(Transfer t, ParseTransfer(step[i], s, i));
      parsed.push_back(t);
    }
    plan.push_back(std::move(parsed));
  }
  return plan;
}

StatusOr<Plan> ParsePlanFromStdout(std::string_view text) {
  text = ClipModelOutput(text);
  size_t end = text.size();
  while (end > 0) {
    size_t begin = text.rfind('\n', end - 1);
    begin = begin == std::string_view::npos ? 0 : begin + 1;
    std::string_view line = Trim(text.substr(begin, end - begin));
    end = begin == 0 ? 0 : begin - 1;
    if (!line.starts_with("[")) continue;
    auto doc = ParseLenientJson(line);
    if (doc.ok()) return ParsePlanJson(**doc);
  }
  auto doc = ExtractJson(text, '[');
  if (!doc.ok()) return InvalidArgumentError("no plan (a JSON array of steps) in the program's output");
  return ParsePlanJson(**doc);
}

std::string PlanToJson(const Plan& plan) {
  std::string out = "[";
  for (size_t s = 0; s < plan.size(); ++s) {
    out += s == 0 ? "[" : ", [";
    for (size_t i = 0; i < plan[s].size(); ++i) {
      const Transfer& t = plan[s][i];
      out += StrCat(i == 0 ? "" : ", ", "{\"chunk\": [", t.owner, ", ", t.chunk,
                    "], \"src\": ", t.src, ", \"dst\": ", t.dst, "}");
    }
    out += "]";
  }
  return out + "]";
}

Status CheckPlan(const Topology& topology, int chunks_per_gpu, const Plan& plan) {
  const int g = topology.num_gpus;
  const int total = g * chunks_per_gpu;
  // have[gpu][owner * chunks_per_gpu + index]
  std::vector<std::vector<bool>> have(g, std::vector<bool>(total, false));
  for (int gpu = 0; gpu < g; ++gpu) {
    for (int c = 0; c < chunks_per_gpu; ++c) have[gpu][gpu * chunks_per_gpu + c] = true;
  }
  for (size_t s = 0; s < plan.size(); ++s) {
    std::vector<std::pair<int, int>> arrivals;
    for (size_t i = 0; i < plan[s].size(); ++i) {
      const Transfer& t = plan[s][i];
      const std::string at = StrCat("step ", s, ", transfer ", i, ": ");
      if (t.src < 0 || t.src >= g || t.dst < 0 || t.dst >= g || t.src == t.dst) {
        return InvalidArgumentError(at, "src ", t.src, " / dst ", t.dst,
                                    " must be two different GPUs in 0..", g - 1);
      }
      if (t.owner < 0 || t.owner >= g || t.chunk < 0 || t.chunk >= chunks_per_gpu) {
        return InvalidArgumentError(at, "chunk (", t.owner, ", ", t.chunk, ") does not exist");
      }
      const int id = t.owner * chunks_per_gpu + t.chunk;
      if (!have[t.src][id]) {
        return InvalidArgumentError(at, "GPU ", t.src, " does not hold chunk (", t.owner, ", ",
                                    t.chunk, ") at the start of the step");
      }
      if (Route(topology, t.src, t.dst).empty()) {
        return InvalidArgumentError(at, "no link or switch route from GPU ", t.src, " to GPU ",
                                    t.dst);
      }
      arrivals.emplace_back(t.dst, id);
    }
    for (const auto& [gpu, id] : arrivals) have[gpu][id] = true;
  }
  for (int gpu = 0; gpu < g; ++gpu) {
    for (int id = 0; id < total; ++id) {
      if (!have[gpu][id]) {
        return InvalidArgumentError("after ", plan.size(), " steps GPU ", gpu, " lacks chunk (",
                                    id / chunks_per_gpu, ", ", id % chunks_per_gpu, ")");
      }
    }
  }
  return Status::Ok();
}

StatusOr<double> SimulateLatency(const Topology& topology, double chunk_mb, const Plan& plan) {
  const int n = topology.num_nodes();
  double total_us = 0;
  std::vector<int> load(static_cast<size_t>(n) * n, 0);
  for (size_t s = 0; s < plan.size(); ++s) {
    std::vector<std::vector<std::pair<int, int>>> routes;
    std::fill(load.begin(), load.end(), 0);
    for (const Transfer& t : plan[s]) {
      const bool in_range = t.src >= 0 && t.src < n && t.dst >= 0 && t.dst < n;
      routes.push_back(in_range ? Route(topology, t.src, t.dst) : std::vector<std::pair<int, int>>{});
      if (routes.back().empty()) {
        return InvalidArgumentError("step ", s, ": no route from ", t.src, " to ", t.dst);
      }
      for (const auto& [u, v] : routes.back()) ++load[u * n + v];
    }
    double step_us = 0;
    for (const auto& route : routes) {
      double alpha = 0;
      double share_gbps = kNoLink;
      for (const auto& [u, v] : route) {
        alpha += topology.latency_us[u][v];
        share_gbps = std::min(share_gbps, topology.bandwidth_gbps[u][v] / load[u * n + v]);
      }
      // chunk_mb megabytes at share_gbps GB/s = 1000 * chunk_mb / share_gbps microseconds.
      step_us = std::max(step_us, alpha + 1000.0 * chunk_mb / share_gbps);
    }
    total_us += step_us;
  }
  return total_us;
}

}  // namespace sigma::aimicius::optiflow
