#include "harness/bench/speed_bench.h"

#include <chrono>
#include <memory>

#include "engine/cpu/read_bandwidth.h"
#include "reports/stats.h"

namespace sigma::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double MatrixBytes(const TensorView& t) { return t.valid() ? static_cast<double>(t.nbytes) : 0.0; }

// One repetition of decode: `steps` batched steps from `context` positions. Returns seconds.
StatusOr<double> DecodeRepetition(Model& model, int64_t batch, int64_t context, int64_t steps) {
  for (int s = 0; s < batch; ++s) SIGMA_RETURN_IF_ERROR(model.TruncateSequence(s, context));
  std::vector<TokenRow> rows(static_cast<size_t>(batch));
  std::vector<float> logits;
  const auto start = Clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    for (int s = 0; s < batch; ++s) {
      rows[static_cast<size_t>(s)] = {s, static_cast<int32_t>((step * 7 + s * 13) % model.vocab_size())};
    }
    SIGMA_RETURN_IF_ERROR(model.Forward(rows, LogitsMode::kAll, &logits));
  }
  return Seconds(start, Clock::now());
}

// `probe` may be null (no bandwidth measurement). Otherwise the probe (best of three passes) runs
// right before each timed repetition, which is graded against it: on a host whose bandwidth moves
// between ~32 and ~58 GB/s within a minute (this project's 2-core VM), a bracket measured before
// the warm-up and after the last repetition graded rows against moments they did not run in. The
// probe leaves the caches cold for the repetition's first step, as a step of any model larger than
// the last-level cache finds them anyway (it streams its weights through it).
StatusOr<SpeedRow> MeasureDecode(Model& model, const std::string& label, const SpeedConfig& config,
                                 int64_t batch, int64_t context, ReadBandwidthProbe* probe) {
  for (int s = 0; s < batch; ++s) {
    SIGMA_RETURN_IF_ERROR(model.FillSyntheticContext(s, context, static_cast<uint64_t>(s + 1)));
  }
  for (int64_t w = 0; w < config.warmup; ++w) {
    SIGMA_RETURN_IF_ERROR(DecodeRepetition(model, batch, context, config.decode_steps).status());
  }
  SpeedRow row;
  row.bytes_per_step = WeightBytesPerStep(model.weights()) +
                       static_cast<double>(batch) * KvBytesPerStep(model, context);
  model.ResetProfile();
  std::vector<double> tokens_per_s, probe_gbps, shares;
  double total_s = 0;
  for (int64_t r = 0; r < config.repetitions; ++r) {
    if (probe != nullptr) probe_gbps.push_back(probe->Measure(model.pool(), 3));
    SIGMA_ASSIGN_OR_RETURN(double s, DecodeRepetition(model, batch, context, config.decode_steps));
    tokens_per_s.push_back(static_cast<double>(batch * config.decode_steps) / s);
    total_s += s;
    if (probe != nullptr) {
      const double step_gbps = row.bytes_per_step * static_cast<double>(config.decode_steps) / s / 1e9;
      shares.push_back(step_gbps / probe_gbps.back());
    }
  }
  row.model = label;
  row.phase = "decode";
  row.context = context;
  row.batch = batch;
  row.repetitions = config.repetitions;
  row.tokens_per_s_mean = reports::Mean(tokens_per_s);
  row.tokens_per_s_std = reports::SampleStd(tokens_per_s);
  const double steps = static_cast<double>(config.repetitions * config.decode_steps);
  row.ms_per_token = total_s * 1000.0 / steps;
  const ForwardProfile& p = model.profile();
  row.attention_ms = (p.attention_ms + p.aug_q_ms) / steps;
  row.kv_dtype = std::string(DTypeName(model.kv_dtype()));
  row.selective_v = config.selective_v;
  if (probe != nullptr) {
    row.read_gbps = reports::Median(probe_gbps);
    row.read_share = reports::Median(shares);
    row.read_share_mean = reports::Mean(shares);
    row.read_share_std = reports::SampleStd(shares);
  }
  return row;
}

StatusOr<SpeedRow> MeasurePrefill(Model& model, const std::string& label, const SpeedConfig& config) {
  std::vector<int32_t> prompt(static_cast<size_t>(config.prompt_tokens));
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<int32_t>((i * 31 + 5) % static_cast<size_t>(model.vocab_size()));
  }
  std::vector<double> tokens_per_s;
  std::vector<float> logits;
  for (int64_t r = 0; r < config.warmup + config.repetitions; ++r) {
    SIGMA_RETURN_IF_ERROR(model.TruncateSequence(0, 0));
    const auto start = Clock::now();
    SIGMA_RETURN_IF_ERROR(model.Prefill(0, prompt, LogitsMode::kLast, &logits));
    const double s = Seconds(start, Clock::now());
    if (r >= config.warmup) tokens_per_s.push_back(static_cast<double>(prompt.size()) / s);
  }
  SpeedRow row;
  row.model = label;
  row.phase = "prefill";
  row.context = 0;
  row.batch = 1;
  row.repetitions = config.repetitions;
  row.tokens_per_s_mean = reports::Mean(tokens_per_s);
  row.tokens_per_s_std = reports::SampleStd(tokens_per_s);
  row.ms_per_token = 1000.0 / row.tokens_per_s_mean;
  row.kv_dtype = std::string(DTypeName(model.kv_dtype()));
  row.selective_v = config.selective_v;
  return row;
}

}  // namespace

Status SpeedConfig::Validate() const {
  if (contexts.empty()) return InvalidArgumentError("--contexts: at least one context length");
  for (int64_t c : contexts) {
    if (c < 0 || c > (int64_t{1} << 24)) {
      return InvalidArgumentError("--contexts: lengths must be 0..16777216, got ", c);
    }
  }
  if (batches.empty()) return InvalidArgumentError("--batch: at least one batch size");
  for (int64_t b : batches) {
    if (b <= 0 || b > 1024) return InvalidArgumentError("--batch: expected 1..1024, got ", b);
  }
  // Upper bounds far past any useful sweep, so that reps x steps stays well inside int.
  if (warmup < 0 || warmup > 10000) {
    return InvalidArgumentError("--warmup: expected 0..10000, got ", warmup);
  }
  if (repetitions <= 0 || repetitions > 10000) {
    return InvalidArgumentError("--reps: expected 1..10000, got ", repetitions);
  }
  if (decode_steps <= 0 || decode_steps > 100000) {
    return InvalidArgumentError("--decode-steps: expected 1..100000, got ", decode_steps);
  }
  if (prompt_tokens < 0 || prompt_tokens > (int64_t{1} << 24)) {
    return InvalidArgumentError("--prompt-tokens: expected 0..16777216, got ", prompt_tokens);
  }
  if (read_bandwidth_mib < 0 || read_bandwidth_mib > (int64_t{1} << 20)) {
    return InvalidArgumentError("--read-bandwidth-mib: expected 0..1048576, got ",
                                read_bandwidth_mib);
  }
  return Status::Ok();
}

double SpeedRow::PercentOfReadBandwidth() const { return 100.0 * read_share; }

double WeightBytesPerStep(const ModelWeights& w) {
  double bytes = MatrixBytes(w.lm_head) + MatrixBytes(w.final_norm);
  for (const LayerWeights& l : w.layers) {
    for (const TensorView* t :
         {&l.attn_norm, &l.q_proj, &l.k_proj, &l.v_proj, &l.q_norm, &l.k_norm, &l.q_gate, &l.q_up,
          &l.q_down, &l.o_proj, &l.attn_post_norm, &l.ffn_norm, &l.gate_proj, &l.up_proj,
          &l.down_proj, &l.ffn_post_norm}) {
      bytes += MatrixBytes(*t);
    }
    // A layer of experts: the router, the shared expert, and experts_per_token of the experts
    // (a step of one row reads as many; their mean size).
    for (const TensorView* t : {&l.router, &l.shared_expert.gate_proj, &l.shared_expert.up_proj,
                                &l.shared_expert.down_proj, &l.shared_expert_gate}) {
      bytes += MatrixBytes(*t);
    }
    double experts = 0;
    for (const FfnWeights& e : l.experts) {
      experts += MatrixBytes(e.gate_proj) + MatrixBytes(e.up_proj) + MatrixBytes(e.down_proj);
    }
    if (!l.experts.empty()) {
      bytes += experts / static_cast<double>(l.experts.size()) *
               static_cast<double>(w.config.moe.experts_per_token);
    }
  }
  return bytes;
}

double KvBytesPerStep(const Model& model, int64_t context) {
  const ModelConfig& c = model.config();
  const double layer_bytes_per_position =
      static_cast<double>(model.kv_bytes_per_token()) / static_cast<double>(c.num_layers);
  double positions = 0;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const int64_t window = c.AttentionWindow(layer);
    positions += static_cast<double>(window > 0 ? std::min(context, window) : context);
  }
  return positions * layer_bytes_per_position;
}

StatusOr<std::vector<SpeedRow>> RunSpeedSweep(Model& model, const std::string& label,
                                              const SpeedConfig& config, const ProgressLog& log) {
  SIGMA_RETURN_IF_ERROR(config.Validate());
  model.set_selective_v_top_k(config.selective_v);
  std::vector<SpeedRow> rows;
  if (config.prompt_tokens > 0) {
    SIGMA_ASSIGN_OR_RETURN(SpeedRow row, MeasurePrefill(model, label, config));
    if (log) log(StrCat(label, " prefill ", config.prompt_tokens, " tokens: ", row.tokens_per_s_mean, " tok/s"));
    rows.push_back(row);
  }
  std::unique_ptr<ReadBandwidthProbe> probe;
  if (config.read_bandwidth_mib > 0) {
    probe = std::make_unique<ReadBandwidthProbe>(static_cast<size_t>(config.read_bandwidth_mib)
                                                 << 20);
  }
  for (int64_t batch : config.batches) {
    for (int64_t context : config.contexts) {
      SIGMA_ASSIGN_OR_RETURN(SpeedRow row,
                             MeasureDecode(model, label, config, batch, context, probe.get()));
      if (log) {
        log(StrCat(label, " decode ctx ", context, " batch ", batch, ": ", row.tokens_per_s_mean,
                   " tok/s, ", row.ms_per_token, " ms/step, attention ", row.attention_ms, " ms",
                   probe ? StrCat(", read bandwidth ", row.read_gbps, " GB/s (",
                                  row.PercentOfReadBandwidth(), "% of it)")
                         : std::string()));
      }
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace sigma::bench
