// Optiflow plan model: the multi-GPU topology, all-gather plans, the validity checker and the
// alpha-beta latency simulator with link contention (specified in SIMULATOR.md, which is the
// contract; the tests work their expected latencies out by hand from it).
//
//   Topology   nodes 0..num_gpus-1 are GPUs, the rest are switches (e.g. NVSwitch). A directed
//              link u->v exists when latency_us[u][v] is finite and bandwidth_gbps[u][v] > 0.
//   Transfer   GPU src sends chunk (owner, index) to GPU dst. It travels over the direct link
//              src->dst when there is one, else through the one switch s with links src->s and
//              s->dst that has the smallest latency sum (lowest index on ties).
//   Plan       a list of steps; the transfers of a step run concurrently, steps run one after
//              another.
// Thread safety: values and pure functions.
#ifndef SIGMA_AIMICIUS_OPTIFLOW_PLAN_H_
#define SIGMA_AIMICIUS_OPTIFLOW_PLAN_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma::aimicius::optiflow {

inline constexpr double kNoLink = std::numeric_limits<double>::infinity();

struct Topology {
  std::string sku;
  int num_gpus = 0;
  std::vector<std::string> node_names;             // [num_nodes]: GPUs first, then switches
  std::vector<std::vector<double>> latency_us;     // [num_nodes][num_nodes], kNoLink = no link
  std::vector<std::vector<double>> bandwidth_gbps; // [num_nodes][num_nodes], 0 = no link

  int num_nodes() const { return static_cast<int>(node_names.size()); }
  bool HasLink(int u, int v) const;
};

// Reads "latency_us" / "bandwidth_gbps" (square arrays; null in latency = no link), "nodes" and
// "num_gpus" from a record object. Checks shapes, non-negative values and that every GPU pair
// is connected by a route (else no all-gather is possible).
StatusOr<Topology> ParseTopology(const rapidjson::Value& record, std::string_view where);

// The directed links a transfer src->dst crosses: one (direct) or two (through a switch). Empty
// when there is no route.
std::vector<std::pair<int, int>> Route(const Topology& topology, int src, int dst);

struct Transfer {
  int src = 0;
  int dst = 0;
  int owner = 0;  // the GPU the chunk started on
  int chunk = 0;  // its index there, 0..chunks_per_gpu-1
};

using Step = std::vector<Transfer>;
using Plan = std::vector<Step>;

// Plans larger than this are refused (INVALID_ARGUMENT), so a hostile program cannot make the
// scorer allocate or loop without bound.
inline constexpr size_t kMaxPlanTransfers = 200'000;
inline constexpr size_t kMaxPlanSteps = 10'000;

// A plan as JSON: an array of steps; a step is an array of transfers; a transfer is either
//   {"chunk": [owner, index], "src": s, "dst": d}            or
//   "D(owner, index): G(s) => G(d)"                          (the paper's spelling).
StatusOr<Plan> ParsePlanJson(const rapidjson::Value& value);
// The plan a program printed: the last stdout line that parses as a JSON array of steps, else
// the first JSON array found in the whole stdout (pretty-printed plans).
StatusOr<Plan> ParsePlanFromStdout(std::string_view stdout_text);
std::string PlanToJson(const Plan& plan);

// OK when `plan` is a valid all-gather: every transfer names GPUs in range (src != dst), a chunk
// that exists, has a route, and the source holds the chunk at the start of the step; and at the
// end every GPU holds all num_gpus * chunks_per_gpu chunks. The error names the first violation.
Status CheckPlan(const Topology& topology, int chunks_per_gpu, const Plan& plan);

// Latency in microseconds (SIMULATOR.md). The plan must have routes for every transfer (run
// CheckPlan first); a transfer without one is an INVALID_ARGUMENT.
StatusOr<double> SimulateLatency(const Topology& topology, double chunk_mb, const Plan& plan);

}  // namespace sigma::aimicius::optiflow

#endif  // SIGMA_AIMICIUS_OPTIFLOW_PLAN_H_
