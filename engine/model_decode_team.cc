// Model's decode team: the layers of a decode step run by every thread of the pool together, in
// one ParallelFor task each, with SpinBarrier waits between the phases where a member needs what
// another computed. Compared with RunLayer, which makes each projection and the attention a
// ParallelFor of their own and prepares every matmul's activations on the calling thread:
// - each member keeps its own copy of the residual stream and prepares (norms, quantizes) the
//   activations of its matmuls itself, so the only data crossing between cores is each phase's
//   output, read once by each member after a barrier;
// - a phase boundary is one cache line per member (SpinBarrier), where a ParallelFor moves a job
//   description, a task counter and a completion count in a chain of transfers.
// Member p computes part p of every projection (MatMulPart; its rows are the ones
// PlaceDecodeWeights put in its region), the RoPE and cache rows of the heads h with
// h % members == p, and the attention tasks DecodeAttentionTeam gives it. Every value is computed
// by the same kernel on the same inputs as in RunLayer, so a step's logits are bit-identical.
// Measured and left: each member prefetching its part of o_proj before its attention tasks, so
// that the short attention phase at 512 positions would bring in o's weights (SmolLM2, fast host,
// paired): 0.93-0.98x with all of the part, 0.98-1.01x with its first 32 KB; spread into L2 over
// the member's score passes (a share a task, SpreadPrefetch): 2.323 against 2.220 ms a step
// (in-process A/B, medians of 29 fast rounds), 2.860 against 2.824 slow. Also (same setting,
// alternating in one process): the plan giving each new K and V row to the member whose
// last-chunk task reads it, each member rotating its own copy of the query heads it reads, and
// no barrier before the attention: 0.998-0.999x (median of 12-16 rounds); prefetching the
// member's attention rows into L2 over its q/k/v part: the attention phase 0.06-0.1 ms a step
// shorter, q/k/v 0.2 ms longer (0.90-0.975x). There, member 0's attention tasks took 13.6 us a
// layer (scores 5.9, softmax 0.8, V 5.2, merge 0.8) against 6.2 with the rows in cache: at 256
// rows and 3 query heads a task's passes are FMA-bound about as long as their reads take.
// Where a step's time went (SmolLM2 at 512 positions, fast minutes, 2.44 ms a step, TSC laps of
// both members, us a step, member 0 / 1): q/k/v 238 / 290 (5.2 MB each, 18-22 GB/s), o 159 / 136
// (3.1 MB, 20-23 GB/s), norms + gate/up + SiLU 612 / 633 (16.6 MB, 26-27 GB/s), down 330 / 302
// (8.3 MB, 25-27 GB/s), attention 352 / 364, barrier waits 280 / 230 (the slower member changes
// from phase to phase, so even perfect balancing would save half the phases' differences, ~70
// us). A core reads a short phase's 0.1-0.6 MB at 18-27 GB/s against 31-32 for a long stream.
// A team harness running the same phases on the same placement (Q4_1 weights of SmolLM2's shapes,
// barriers, the attention at 512 positions, alternating in one process, medians of 23-30 fast
// rounds) spent 1.145 ms a step in projections with constant activations; a loop over each
// phase's 576-1536 inputs before it added 0.09 ms, that loop reading the other member's outputs
// (as the step does) 0.06 more: between barriers a core that computes does not stream. Measured
// and left: each member prefetching the first 2 or 8 KB of its next part before preparing the
// activations (SmolLM2 512, in-process A/B, 6-7 fast rounds): 2.435 and 2.501 against 2.437 ms.
// Nor prefetching it while waiting at the barrier before the phase (one line a spin, the first
// 4, 16 or 64 KB of o, gate, down and the next layer's q part): 2.425, 2.399 and 2.465 against
// 2.401 ms a step (medians of 60 fast rounds), 2.936, 2.964 and 2.949 against 2.904 slow (100).
// Nor balancing by stealing: each phase's parts claimed in blocks of 2 or 6 tiles (one atomic
// front|back word a part), a member done early taking blocks from the back of the other's part,
// SiLU applied by whoever computed a block; the logits the same bits, but the step 2.903-2.948
// against 2.374-2.391 ms (2 tiles) and 2.423 against 2.170 ms (6 tiles; medians of 31-40 fast
// rounds, in-process A/B): the claims' cache line moves between the cores at every block.
// Nor keeping the KV cache (12 MB at 512 positions) in the L3 across steps by streaming the
// weights past it (one thread, 108 MB of weights then the 12 MB, medians of 15): prefetchnta 1 KB
// ahead read the weights at 26 against 30 GB/s and the cache after them at 48-50 against 30
// (82-86 from L3 alone); clflushopt of each line once used, 21-24 and 33-41 GB/s. Nor keeping the
// first 8-24 MB of each thread's 55 MB stream in the L3 by reading the rest with prefetchnta 1 KB
// ahead (a cyclic read, 1 and 2 threads, slow minutes): within the noise of 34-46 GB/s.
// Nor reading the next layer's KV share into L2 during this layer's FFN, so that the attention
// computes from L2 (SmolLM2 at 512 positions, in-process A/B, medians of 97 rounds at a 55-64
// GB/s probe: 2.426 ms a step, attention 0.512 ms; with its rows in L2 the attention takes 0.239
// ms): one load a line, interleaved with the down projection in 3 or 5 slices, attention 0.367
// ms but the step 1.09-1.12x as long; with gate/up 1.24x; in one burst before down 1.013x; as
// prefetcht1 in 3 slices 1.029x, the attention unchanged (0.521 ms: the prefetches do not land
// beside a GEMV's stream); a burst of loads of this layer's share just before the attention,
// 1.02-1.05x. The bytes cost a phase what they save the attention.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/cpu/attention.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/spin_barrier.h"
#include "engine/model.h"
#include "engine/model_internal.h"

namespace sigma {

using internal::AddResidual;
using internal::BiasOrNull;
using internal::BlockInput;
using internal::Clock;
using internal::FfnActivation;
using internal::GatedActivation;
using internal::MsBetween;

bool Model::UsesDecodeTeam(std::span<const TokenRow> rows) const {
  if (options_.decode_team == DecodeTeam::kNever || pool_->size() < 2) return false;
  if (options_.decode_team == DecodeTeam::kAuto && !team_fits_) return false;
  if (rows.size() > kMaxDecodeTeamRows) return false;
  if (options_.selective_v_top_k > 0) return false;
  // One row per sequence: decode, not prefill (at most kMaxDecodeTeamRows rows: no allocation).
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].seq < 0 || rows[i].seq >= num_sequences()) return false;  // Forward rejects these
    for (size_t j = 0; j < i; ++j) {
      if (rows[j].seq == rows[i].seq) return false;
    }
  }
  return true;
}

void Model::RunDecodeTeam(std::span<const TokenRow> rows, std::span<const int64_t> positions) {
  const ModelConfig& c = config();
  const auto n = static_cast<int64_t>(rows.size());
  const int members = pool_->size();
  const auto eps = static_cast<float>(c.rms_norm_eps);
  const int head_dim = static_cast<int>(c.head_dim);
  const int64_t hidden = n * c.hidden_size;
  // Each member's copies a cache line or more apart from the next member's.
  const int64_t stride = (hidden + 15) / 16 * 16 + 16;
  team_x_.resize(static_cast<size_t>(members * stride));
  team_h_.resize(static_cast<size_t>(members * stride));
  SpinBarrier barrier(members);
  // The attention's items of a layer; every layer's have the same lengths, planned once.
  const auto layer_items = [&](int64_t layer, std::vector<DecodeItem>& items) {
    items.resize(rows.size());
    for (int64_t r = 0; r < n; ++r) {
      items[static_cast<size_t>(r)] =
          DecodeItem{&q_[r * c.q_dim()], kv_.View(layer, rows[static_cast<size_t>(r)].seq),
                     positions[static_cast<size_t>(r)] + 1, &attn_[r * c.q_dim()]};
    }
  };
  // One plan for the layers that attend to every position, one for the sliding-window layers.
  const auto team_of = [&](int64_t layer) { return c.AttentionWindow(layer) > 0 ? 1 : 0; };
  bool planned_team[2] = {false, false};
  std::vector<DecodeItem> planned;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    if (planned_team[team_of(layer)]) continue;
    planned_team[team_of(layer)] = true;
    layer_items(layer, planned);
    attention_teams_[team_of(layer)].Plan(LayerAttentionShape(layer), planned, members);
  }
  // Member 0's phase times, for the profile.
  double projection_ms = 0, attention_ms = 0, aug_q_ms = 0;

  pool_->ParallelFor(members, [&](int64_t task, int) {
    const int m = static_cast<int>(task);
    float* x = &team_x_[static_cast<size_t>(m * stride)];
    float* h = &team_h_[static_cast<size_t>(m * stride)];
    std::memcpy(x, x_.data(), static_cast<size_t>(hidden) * sizeof(float));
    barrier.Wait(m, /*watch=*/false);  // every member awake
    // Elements [first, end) of each batch row of `width` that part m of a projection computes.
    const auto own_rows = [&](int64_t width) {
      return std::pair{MatMulPartRow(width, members, m), MatMulPartRow(width, members, m + 1)};
    };
    // gate = act(gate) * up in the elements [first, end) of each of `rows` rows `width` wide
    // that this member computed: the FFN's activation (FfnActivation: gpt-oss's clamped SwiGLU
    // or the model's), or where `ffn` is false augmented Q's SiLU.
    const auto activate_own_rows = [&](bool ffn, float* gate, const float* up, int64_t rows,
                                       int64_t width) {
      const auto [first, end] = own_rows(width);
      for (int64_t r = 0; r < rows; ++r) {
        float* g = gate + r * width + first;
        const float* u = up + r * width + first;
        if (ffn) {
          FfnActivation(c, g, u, end - first);
        } else {
          GatedActivation(Activation::kSilu, g, u, end - first);
        }
      }
    };
    // x += y, or with Gemma 2's and 3's sandwich norms x += RmsNorm(y) (in the member's h).
    const auto add_output = [&](const float* y, const TensorView& post_norm) {
      if (c.post_norms()) {
        RmsNorm(y, post_norm, eps, n, c.hidden_size, h);
        y = h;
      }
      AddResidual(c, y, hidden, x);
    };
    std::vector<DecodeItem> items;
    std::vector<float> q_normed, k_normed;  // OLMo 2's whole-row q/k norms, this member's copy
    // A layer of experts on the member's h, its output into h (as Model::MoeFfn): the router's
    // logits; every member routes all rows itself (the same choices), then computes its part of
    // every chosen expert's gate/up on its own gathered rows, of their down projections, and the
    // weighted sum whole.
    std::vector<ExpertBatch> batches;
    std::vector<float> gathered;
    const auto experts = [&](const LayerWeights& w) {
      const MoeConfig& moe = c.moe;
      const int64_t hidden_size = c.hidden_size;
      const Projection router[] = {{&w.router, BiasOrNull(w.router_bias), router_logits_.data()}};
      MatMulPart(router, h, n, members, m);
      barrier.Wait(m);
      RouteToExperts(moe, router_logits_.data(), n, &batches);
      const std::vector<int64_t> offsets = RoutedRowOffsets(batches);
      const auto gate_up = [&](const FfnWeights& f, int64_t width, const float* in, int64_t rows,
                               int64_t first) {
        float* g = &moe_g_[static_cast<size_t>(first * width)];
        float* u = &moe_u_[static_cast<size_t>(first * width)];
        const Projection p[] = {{&f.gate_proj, BiasOrNull(f.gate_bias), g},
                                {&f.up_proj, BiasOrNull(f.up_bias), u}};
        MatMulPart(p, in, rows, members, m);
        activate_own_rows(/*ffn=*/true, g, u, rows, width);
      };
      const auto down = [&](const FfnWeights& f, int64_t width, int64_t rows, int64_t first) {
        const Projection p[] = {{&f.down_proj, BiasOrNull(f.down_bias),
                                 &moe_y_[static_cast<size_t>(first * hidden_size)]}};
        MatMulPart(p, &moe_g_[static_cast<size_t>(first * width)], rows, members, m);
      };
      const bool shared = moe.shared_expert_intermediate_size > 0;
      for (size_t j = 0; j < batches.size(); ++j) {
        const ExpertBatch& b = batches[j];
        gathered.resize(b.rows.size() * static_cast<size_t>(hidden_size));
        GatherRows(h, b, hidden_size, gathered.data());
        gate_up(w.experts[static_cast<size_t>(b.expert)], moe.expert_intermediate_size,
                gathered.data(), static_cast<int64_t>(b.rows.size()), offsets[j]);
      }
      if (shared) {
        gate_up(w.shared_expert, moe.shared_expert_intermediate_size, h, n, offsets.back());
        const Projection gate[] = {{&w.shared_expert_gate, nullptr, shared_gate_.data()}};
        MatMulPart(gate, h, n, members, m);
      }
      barrier.Wait(m);
      for (size_t j = 0; j < batches.size(); ++j) {
        down(w.experts[static_cast<size_t>(batches[j].expert)], moe.expert_intermediate_size,
             static_cast<int64_t>(batches[j].rows.size()), offsets[j]);
      }
      if (shared) down(w.shared_expert, moe.shared_expert_intermediate_size, n, offsets.back());
      barrier.Wait(m);
      CombineExperts(batches, moe_y_.data(), n, hidden_size,
                     shared ? &moe_y_[static_cast<size_t>(offsets.back() * hidden_size)] : nullptr,
                     shared_gate_.data(), h);
    };
    Clock::time_point t = Clock::now();
    // Member 0 adds the time since t to `ms`.
    const auto lap = [&](double& ms) {
      if (m != 0) return;
      const Clock::time_point now = Clock::now();
      ms += MsBetween(t, now);
      t = now;
    };

    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
      const bool aug_q = c.aug_q_intermediate_size > 0;
      BlockInput(c, x, w.attn_norm, n, h);
      const Projection qkv[] = {{&w.q_proj, BiasOrNull(w.q_bias), aug_q ? q0_.data() : q_.data()},
                                {&w.k_proj, BiasOrNull(w.k_bias), k_.data()},
                                {&w.v_proj, BiasOrNull(w.v_bias), v_.data()}};
      MatMulPart(qkv, h, n, members, m);
      barrier.Wait(m);
      lap(projection_ms);
      if (aug_q) {
        const Projection gate_up[] = {{&w.q_gate, nullptr, aug_g_.data()},
                                      {&w.q_up, nullptr, aug_u_.data()}};
        MatMulPart(gate_up, q0_.data(), n, members, m);
        activate_own_rows(/*ffn=*/false, aug_g_.data(), aug_u_.data(), n,
                          c.aug_q_intermediate_size);
        barrier.Wait(m);
        const Projection down[] = {{&w.q_down, nullptr, q_.data()}};
        MatMulPart(down, aug_g_.data(), n, members, m);
        barrier.Wait(m);
        lap(aug_q_ms);
      }

      // OLMo 2's q/k norms span each row's heads: every member norms the rows whole into its own
      // buffers (as RunLayer norms them), and all have read q and k before any writes its heads.
      const bool whole_row_norms = c.qk_norm() && !c.qk_norm_per_head();
      if (whole_row_norms) {
        q_normed.resize(static_cast<size_t>(n * c.q_dim()));
        k_normed.resize(static_cast<size_t>(n * c.k_dim()));
        RmsNorm(q_.data(), w.q_norm, eps, n, c.q_dim(), q_normed.data());
        RmsNorm(k_.data(), w.k_norm, eps, n, c.k_dim(), k_normed.data());
        barrier.Wait(m);
      }
      // The q/k norms (Qwen3, Gemma 3, OLMo 2), RoPE and the cache rows of this member's heads.
      for (int64_t r = 0; r < n; ++r) {
        const int64_t pos = positions[static_cast<size_t>(r)];
        const int seq = rows[static_cast<size_t>(r)].seq;
        const float* cos_r = RopeCos(layer, r);
        const float* sin_r = RopeSin(layer, r);
        // Head h of row r of q or k (`width` a row): normed (its own norm, or its part of the
        // whole row's), then rotated.
        const auto prepare_head = [&](float* all, const std::vector<float>& normed, int64_t width,
                                      const TensorView& norm, int64_t h) {
          float* head = &all[r * width + h * head_dim];
          if (whole_row_norms) {
            const float* from = &normed[static_cast<size_t>(r * width + h * head_dim)];
            std::copy(from, from + head_dim, head);
          } else if (c.qk_norm()) {
            RmsNorm(head, norm, eps, 1, head_dim, head);
          }
          if (c.RotatesLayer(layer)) {
            RotateHalf(head, 1, head_dim, static_cast<int>(c.rotary_dim()), cos_r, sin_r);
          }
          return head;
        };
        for (int64_t hq = m; hq < c.n_q_heads; hq += members) {
          prepare_head(q_.data(), q_normed, c.q_dim(), w.q_norm, hq);
        }
        for (int64_t hk = m; hk < c.n_k_heads; hk += members) {
          kv_.StoreK(layer, seq, hk, pos,
                     prepare_head(k_.data(), k_normed, c.k_dim(), w.k_norm, hk));
        }
        for (int64_t hv = m; hv < c.n_v_heads; hv += members) {
          kv_.StoreV(layer, seq, hv, pos, &v_[r * c.v_dim() + hv * head_dim]);
        }
      }
      layer_items(layer, items);
      barrier.Wait(m);
      attention_teams_[team_of(layer)].Run(m, items, BiasOrNull(w.sinks));
      barrier.Wait(m);
      lap(attention_ms);

      const Projection o[] = {{&w.o_proj, BiasOrNull(w.o_bias), h_.data()}};
      MatMulPart(o, attn_.data(), n, members, m);
      barrier.Wait(m);
      add_output(h_.data(), w.attn_post_norm);
      BlockInput(c, x, w.ffn_norm, n, h);
      if (c.MoeLayer(layer)) {
        experts(w);
        add_output(h, w.ffn_post_norm);
        lap(projection_ms);
        continue;
      }
      const Projection gate_up[] = {{&w.gate_proj, nullptr, ffn_g_.data()},
                                    {&w.up_proj, nullptr, ffn_u_.data()}};
      MatMulPart(gate_up, h, n, members, m);
      activate_own_rows(/*ffn=*/true, ffn_g_.data(), ffn_u_.data(), n, c.intermediate_size);
      barrier.Wait(m);
      const Projection down[] = {{&w.down_proj, nullptr, h_.data()}};
      MatMulPart(down, ffn_g_.data(), n, members, m);
      barrier.Wait(m);
      add_output(h_.data(), w.ffn_post_norm);
      lap(projection_ms);
    }
    if (m == 0) std::memcpy(x_.data(), x, static_cast<size_t>(hidden) * sizeof(float));
  });
  profile_.projection_ms += projection_ms;
  profile_.attention_ms += attention_ms;
  profile_.aug_q_ms += aug_q_ms;
  ++profile_.team_steps;
  if (barrier.stalled()) {
    // A member lost its core for a while. Twice in a short time: the next steps take the
    // parallel loops, which let whichever threads run take the work (SmolLM2 at 512 positions
    // with another process spinning on one of two cores: team 6.4-10.3 ms a step, loops 3.9-7.0).
    ++profile_.team_stalls;
    if (team_steps_since_stall_ < kDecodeTeamStallWindow) {
      team_backoff_left_ = team_backoff_next_;
      team_backoff_next_ = std::min(2 * team_backoff_next_, kDecodeTeamMaxBackoff);
    }
    team_steps_since_stall_ = 0;
  } else {
    ++team_steps_since_stall_;
    team_backoff_next_ = kDecodeTeamBackoff;
  }
}

}  // namespace sigma
