#include "engine/cpu/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/attention_internal.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cpu/ops.h"

namespace sigma {
namespace {

using internal::AttentionKernels;
using internal::NextReads;

// Positions per decode task: 4096, as evenly split as the context allows. A task streams its K
// rows and then each of its group's V heads' rows, so a chunk is the length of the streams DRAM
// sees; on a 2-core Zen 4, plainly reading a Sigma 16K layer in that order reached 88-96% of a
// sequential read's bandwidth with 512-row chunks (64 KB streams) while the host was slow (~32
// GB/s) and 66% while it was fast (~55 GB/s), and 99-104% and 86% with 2048 rows (1 MB streams:
// 99%); the attention itself, 512 -> 2048 rows, alternating: Sigma 16K 1443-1499 -> 1246-1463 us
// at best, 4K 368-393 -> 324-371 us. 2048 -> 4096 rows (the DiffQKV / GQA16 benchmark, paired,
// alternating): DiffQKV at 16K 66-69% -> 72-74% of the probe and GQA16 77-85% -> 83-85% while the
// host was fast (~58-65 GB/s), both 91-94% either way while slow; 8192 rows: 75% and 88% fast,
// but DiffQKV's 8 tasks a step then balanced worse, 86-91% slow. Again with the bf16 dot-product
// score pass (BM_DiffQkvOverGqa16's loop, 2048 and 4096 rows alternating in one process, medians
// of paired shares): fast (probe 52 GB/s) DiffQKV 76.9 against 80.2%, GQA16 82.3 against 87.9%
// (ratio 1.50 against 1.46, from GQA16's loss); slow (30-34 GB/s) 93-96% either way. A model
// with few K heads at a short context gets more, shorter chunks, so that a step has at least 6
// tasks (an even split for 2 or 3 workers): SmolLM2's 3 K heads at 512 context were 3 full tasks and 3 one-row ones for 2
// threads (16.4 us a layer); in 2 x 256 rows, 13.3 us (4 x 128 rows: 15.1 us). Machines with many
// more cores get few tasks at short contexts from this (Sigma at 4K: 8). Derived from the context
// length and the shape alone (not the batch or the thread count) so a sequence's result does not
// depend on what else is in the batch or on the pool size.
// Measured and left: the last chunk of a head cut in two halves where it has 3 or more, tasks
// longest first, so that the two workers' finishing times meet (Sigma at 16K, 26 layers from
// DRAM, alternating, fast minutes): the gap between them 26-39 against 38-110 us a layer, but the
// layer 896 against 886 us (medians), the shorter streams costing what the balance saved.
int64_t ChunkRows(int64_t n_ctx, int n_k) {
  constexpr int64_t kRows = 4096, kMinRows = 128, kMinTasks = 6;
  int64_t chunks = (n_ctx + kRows - 1) / kRows;
  if (chunks * n_k < kMinTasks) {
    const int64_t wanted = (kMinTasks + n_k - 1) / n_k;
    chunks = std::max(chunks, std::min(wanted, (n_ctx + kMinRows - 1) / kMinRows));
  }
  return ((n_ctx + chunks - 1) / chunks + 15) / 16 * 16;
}

// The positions a query at position n_ctx - 1 attends to, [first, n_ctx), cut into the chunks of
// its tasks: chunk c is [max(first, base + c * rows), min(n_ctx, base + (c + 1) * rows)), where
// base is `first` rounded down to a K tile, so that every chunk but the first starts on a tile.
// Without a sliding window first = base = 0: the chunks of ChunkRows. A function of the shape and
// n_ctx alone, as ChunkRows is.
struct AttendedRange {
  AttendedRange(const AttentionShape& s, int64_t n)
      : first(FirstAttended(s, n)),
        base(first / kKTileRows * kKTileRows),
        n_ctx(n),
        rows(ChunkRows(n - base, s.n_k)),
        chunks((n - base + rows - 1) / rows) {}
  int64_t begin(int64_t c) const { return std::max(first, base + c * rows); }
  int64_t end(int64_t c) const { return std::min(n_ctx, base + (c + 1) * rows); }
  int64_t length() const { return n_ctx - first; }

  int64_t first;
  int64_t base;
  int64_t n_ctx;
  int64_t rows;
  int64_t chunks;
};

const AttentionKernels& KernelsFor(int head_dim) {
  const CpuIsa isa = ActiveCpuIsa();
  if (isa == CpuIsa::kAvx512Amx) {
    if (const AttentionKernels* k = internal::AmxAttentionKernels(head_dim)) return *k;
  } else if (isa == CpuIsa::kAvx512Bf16) {
    if (const AttentionKernels* k = internal::Avx512AttentionKernels(head_dim)) return *k;
  } else if (isa == CpuIsa::kAvx2) {
    if (const AttentionKernels* k = internal::Avx2AttentionKernels(head_dim)) return *k;
  }
  return internal::GenericAttentionKernels();
}

void CheckShape(const AttentionShape& s) {
  SIGMA_CHECK(
      s.n_q > 0 && s.n_k > 0 && s.n_v > 0 && s.head_dim > 0 && s.window >= 0 && s.softcap >= 0,
      "attention: bad shape");
  SIGMA_CHECK(s.n_q % s.n_k == 0 && s.n_q % s.n_v == 0, "attention: n_q ", s.n_q,
              " must be a multiple of n_k ", s.n_k, " and n_v ", s.n_v);
}

// Selective V renormalises the kept probabilities over the positions: not defined with sinks.
void CheckSelective(const AttentionShape& s, int top_k) {
  SIGMA_CHECK(top_k <= 0 || s.sinks == nullptr, "attention: selective V with attention sinks");
}

void CheckKv(const KvLayerView& kv, int64_t n_ctx) {
  SIGMA_CHECK(kv.dtype == DType::kF32 || kv.dtype == DType::kF16 || kv.dtype == DType::kBF16,
              "attention: cache dtype ", DTypeName(kv.dtype));
  SIGMA_CHECK(kv.k != nullptr && kv.v != nullptr, "attention: null cache");
  SIGMA_CHECK(n_ctx >= 1 && n_ctx <= kv.capacity, "attention: n_ctx ", n_ctx, " capacity ",
              kv.capacity);
}

// Bytes of one cache row (head_dim elements).
int64_t RowBytes(const KvLayerView& kv, int hd) {
  return static_cast<int64_t>(hd) * (kv.dtype == DType::kF32 ? 4 : 2);
}

// V row `pos` of V head `head`.
const void* VRow(const KvLayerView& kv, int head, int64_t pos, int hd) {
  return static_cast<const uint8_t*>(kv.v) + (head * kv.capacity + pos) * RowBytes(kv, hd);
}

// The K tile starting at position `pos` (a multiple of kKTileRows) of K head `head`.
const void* KTile(const KvLayerView& kv, int head, int64_t pos, int hd) {
  SIGMA_DCHECK(pos % kKTileRows == 0);
  return static_cast<const uint8_t*>(kv.k) +
         (head * KTilePositions(kv.capacity) + pos) * RowBytes(kv, hd);
}

// Whether score passes take q in bf16 (AttentionShape::bf16_query).
bool Bf16Query(const AttentionShape& s, const KvLayerView& kv) {
  return s.bf16_query && kv.dtype == DType::kBF16;
}

// The score pass of the g query heads of K head `kh` over positions [begin, begin + n); begin is
// the start of a K tile.
void Scores(const AttentionKernels& kern, const AttentionShape& s, const float* q_group,
            const KvLayerView& kv, int kh, int64_t begin, int64_t n, float* scores,
            int64_t stride, NextReads next) {
  const int g = s.n_q / s.n_k;
  const void* k = KTile(kv, kh, begin, s.head_dim);
  if (Bf16Query(s, kv)) {
    kern.scores_bf16_query(q_group, g, s.head_dim, s.scale, k, n, scores, stride, next);
  } else {
    kern.scores(q_group, g, s.head_dim, s.scale, k, kv.dtype, n, scores, stride, next);
  }
  if (s.softcap > 0) {
    for (int h = 0; h < g; ++h) SoftCap(scores + h * stride, n, s.softcap);
  }
}

// Whether a score pass of g query heads has time to spare for prefetching: its f32 arithmetic
// (about 4 cycles a position per head on AVX-512, 6 on AVX2) outlasts reading its K rows (a
// 128-byte bf16 row in ~15 cycles at a core's ~30 GB/s) from about 6 heads; 2 and 3 were measured
// slower with the prefetch, 8 faster. A bf16 dot-product pass (AttentionKernels::bf16_query_dot:
// half that arithmetic, and at most 8 heads a pass) has none to spare: Sigma's 16K attention
// (BM_DiffQkvOverGqa16, paired, alternating) read at 94% of a slow probe without the prefetch
// against 92% with it (GQA16 / DiffQKV 1.55 against 1.515, medians of 18 and 13 slow rounds) and
// at 77.6-79.8% of a fast one against 76.5-80.6% (ratio 1.45-1.48 against 1.43-1.50).
bool SpreadV(int g, bool dot_pass) { return !dot_pass && g >= 6; }

// What the softmax of head h of a group prefetches into L2 while it computes (exp_sum, NextReads):
// a share of the chunk's first V rows (V head vh from position `begin`), one cache line for each
// 16 scores, so that the group's heads together fetch the first g * n * 4 bytes (Sigma, 8 heads of
// 4096 positions: 1024 of the chunk's 4096 rows). The softmax reads nothing from memory, and the
// first V pass then starts on rows already in L2. Measured (2-core Zen 4, 2 threads, bf16, a team
// harness alternating with and without it every 30 layers, medians of 40-200 rounds each): Sigma
// at 16K 82.0-83.1% -> 83.5-84.7% of a fast probe, 103.6 -> 105.8% of a slow one (512, 1536 and
// 2048 rows instead of 1024: 83.1-83.2%); GQA16 at 16K 90.2-90.9 -> 91.8-93.2% fast; SmolLM2 at
// 4K 75.7-76.0 -> 78.0-78.7% fast, 96.5 -> 98.1% slow. In the model (sigma-eval bench, fast
// minutes, alternating builds, 10-11 runs each, medians): SmolLM2's attention 0.473 -> 0.461 ms a
// step at 512 positions, 1.866 -> 1.844 ms at 4K (78.3 -> 79.4% of the probe). Measured and
// left: the chunk's whole first V head, or half of it (SmolLM2 4K: 65% and 72% fast); the softmax
// in blocks of 256 or 1024 rows inside each V pass, so that its arithmetic meets the reads (Sigma
// 16K: 76% and 80% against 83%).
NextReads SoftmaxReads(const KvLayerView& kv, int vh, int64_t begin, int64_t n, int hd, int h) {
  const int64_t share = n * static_cast<int64_t>(sizeof(float));
  const int64_t chunk = n * RowBytes(kv, hd);
  const int64_t offset = std::min(chunk, h * share);
  return {static_cast<const uint8_t*>(VRow(kv, vh, begin, hd)) + offset,
          std::min(share, chunk - offset)};
}

// Unnormalised partial result of one chunk for the g query heads of one K head.
// Layout of a partial: max[g], sum[g], acc[g][hd].
int64_t PartialFloats(int g, int hd) { return static_cast<int64_t>(g) * (hd + 2); }

// Dense attention of the query heads of K head `kh` over positions [begin, end) into `partial`.
// scratch: the scores of the whole K tiles the range touches, [g][their positions], each head's
// row on a cache line; a range that starts inside a tile (a sliding window's first chunk) skips
// the tile's `lead` positions before it.
void ChunkPartial(const AttentionKernels& kern, const AttentionShape& s, const float* q_group,
                  const KvLayerView& kv, int kh, int64_t begin, int64_t end,
                  AlignedScratch<float>& scratch, float* partial) {
  const int g = s.n_q / s.n_k;
  const int gv = s.n_q / s.n_v;
  const int hd = s.head_dim;
  const int64_t n = end - begin;
  const int64_t lead = begin % kKTileRows;
  const int64_t stride = (lead + n + 15) / 16 * 16;
  float* tile_scores = scratch.Get(static_cast<size_t>(g * stride));
  float* scores = tile_scores + lead;
  // Where the score pass is compute-bound, it prefetches the V rows the group reads first (one V
  // head's chunk), spread over its rows (SpreadV). Measured (2-core Zen 4, 2 threads, paired):
  // with it, DiffQKV's 16K attention (8 query heads per K head) read at 66-67% of the probe in
  // fast minutes (~62 GB/s) against 63-65% without, GQA16's (2) at 69-70% against 76-78% (both
  // 91-97% either way in slow minutes, ~37 GB/s); SmolLM2's 4K attention (3 heads) ran 0.83-0.90x
  // as fast with it in either regime.
  // Measured and left: splitting a chunk into 256- or 512-row pieces, each V pass prefetching the
  // next piece's K, with an online softmax between pieces (SmolLM2 4K: 0.81-0.89x in fast
  // minutes: shorter streams); prefetching into L2 or non-temporally instead (no better); the
  // first V pass, reading what the score pass brought in, prefetching the second V head's rows
  // (DiffQKV 16K: 65-67% fast and 88-92% slow, against 67% and 92-94%). Earlier,
  // on Sigma at 16K: prefetching 2-4 of the group's V heads over the score pass moved time from
  // the V pass to the score pass one for one, and prefetching the second V head during the
  // softmax gained under 1%. Each V pass prefetching the next V head's rows over its own, the
  // chain through the group: 0.87-0.92x fast into L1, 0.92-0.98x into L2; the next head's pass
  // was no shorter.
  // Where a member's time went (DiffQKV 16K, bf16, 2 threads, fast minutes, per layer, before the
  // bf16 query halved the score pass's arithmetic): score pass 315-330 us (FMA-bound, ~32 cycles a
  // position; K and the first V head read at ~25 GB/s), softmax 62-66, first V pass 82-90 (from
  // L2), the other three V heads 350-385 (~33 GB/s, a core's most): ~77-80% of the probe for the
  // attention alone. With the bf16 dot-product score pass (TSC laps, 26 layers from DRAM, 20 fast
  // rounds at 59-62 GB/s, each thread): score pass 208-221 us (its K at ~20 GB/s: 16 vdpbf16ps a
  // position, one a cycle, ~160 us of them), softmax 64-70, first V pass 125-141, the other three
  // 432-466 (~28 GB/s); 860-912 us a layer, 75-80% of the probe. Slow minutes (35-37 GB/s): 251-
  // 284, 64-70, 171-206, 656-737; 94-104%. The score pass and the softmax are ~0.13 ms a layer
  // past what their reads need: the margin to a core's ~30 GB/s.
  // Measured and left: the V passes with the weights rounded to bf16 and two positions a
  // vdpbf16ps (FlashAttention's bf16 P; interleaved row pairs, 6 vector ops a position and V head
  // against 12): from L2 84 against 56 GB/s a thread, from DRAM (26 layers, alternating) Sigma 16K
  // 82.7 against 81.4% of a fast probe and 99.0 against 96.7% of a slow one, GQA16 88.9 against
  // 87.0% fast, so the ratio stayed at ~1.48; with the software prefetch of the f32 pass it lost
  // (90 against 97% slow). 2% for the weights' precision: not taken.
  // Groups of 3 or 4 query heads that share one V head (SmolLM2's 9/3/3; GQA models with n_q =
  // 3-4 n_k), where the family has the kernel: the chunk in one pass, each K tile's scores, an
  // online softmax and the tile's V rows together, so that the V accumulation's multiplies (12-16
  // FMAs a row) overlap the reads. Measured (2-core Zen 4, 2 threads, bf16, in-process A/B):
  // SmolLM2's decode at 4K positions 3.607-3.623 against 3.746-3.773 ms a step in fast minutes
  // (medians of 12-30 rounds), 5.050-5.672 against 5.075-5.667 in slow ones; at 512 positions
  // 2.151-2.242 against 2.153-2.260 fast, 2.899 against 2.858 slow; its 4K attention alone (team
  // harness, 30 layers from DRAM) 87.5% against 82.9% of a fast probe, 101 against 104.5% of a
  // slow one. Not for 2 heads a group (GQA16 at 16K: 83.5% against 85.9% fast), whose passes are
  // each read-bound already, nor Sigma's 8 sharing 4 V heads: a one-pass kernel for those (each
  // tile's scores, online softmax, then the tile's rows of each of the four V heads, five streams
  // a tile) read Sigma's 16K layers at 62-68% of a slow probe against 97-99% for the passes, and
  // at 38-39% of a fast one against 79% (26 layers from DRAM, alternating in one process; V heads
  // padded off the 2 MB stride: 68%); from cache it took 20 ns a position (~70 cycles of
  // multiplies and bf16 widening for 640 bytes, ~32 GB/s), no headroom over a core's reads.
  // Measured and left: a member's tasks pipelined, the V passes of one interleaved with the score
  // pass of the next in pieces (two streams, the score arithmetic under the V reads): Sigma 16K
  // (team harness, slow minutes, alternating runs) 62-79% of the probe with 16-64-row pieces,
  // 83-89% with 128-256 against 88-96% for the passes one after another.
  const int first_vh = kh * g / gv;
  if (kern.one_pass_partial != nullptr && Bf16Query(s, kv) && (g == 3 || g == 4) && gv % g == 0 &&
      lead == 0 && s.softcap == 0) {
    kern.one_pass_partial(q_group, g, s.scale, KTile(kv, kh, begin, hd),
                          VRow(kv, first_vh, begin, hd), n, partial);
    return;
  }
  const bool dot_pass = Bf16Query(s, kv) && kern.bf16_query_dot;
  const bool spread_v = SpreadV(g, dot_pass);
  const NextReads first_v{spread_v ? VRow(kv, first_vh, begin, hd) : nullptr,
                          n * RowBytes(kv, hd)};
  Scores(kern, s, q_group, kv, kh, begin - lead, lead + n, tile_scores, stride, first_v);
  float* max = partial;
  float* sum = partial + g;
  float* acc = partial + 2 * g;
  for (int h = 0; h < g; ++h) {
    max[h] = kern.max(scores + h * stride, n);
    sum[h] = kern.exp_sum(scores + h * stride, n, max[h],
                          spread_v ? NextReads{} : SoftmaxReads(kv, first_vh, begin, n, hd, h));
  }
  std::fill(acc, acc + static_cast<int64_t>(g) * hd, 0.0f);
  // Consecutive query heads of the group that share a V head go through V in one pass.
  for (int h = 0; h < g;) {
    const int vh = (kh * g + h) / gv;
    int h_end = h + 1;
    while (h_end < g && (kh * g + h_end) / gv == vh) ++h_end;
    kern.accumulate_v(scores + h * stride, stride, h_end - h, hd,
                      VRow(kv, vh, begin, hd), kv.dtype, n,
                      acc + static_cast<int64_t>(h) * hd);
    h = h_end;
  }
}

// Merges `chunks` partials (chunk order, so the result is deterministic) into out[g][hd]; `sinks`
// (the g heads' sink logits, AttentionShape::sinks) join the maximum and the denominator.
void MergePartials(const float* partials, int64_t chunks, int g, int hd, const float* sinks,
                   float* out) {
  const int64_t stride = PartialFloats(g, hd);
  for (int h = 0; h < g; ++h) {
    float m = sinks != nullptr ? sinks[h] : -INFINITY;
    for (int64_t c = 0; c < chunks; ++c) m = std::max(m, partials[c * stride + h]);
    float total = sinks != nullptr ? std::exp(sinks[h] - m) : 0.0f;
    float* o = out + static_cast<int64_t>(h) * hd;
    std::fill(o, o + hd, 0.0f);
    for (int64_t c = 0; c < chunks; ++c) {
      const float* p = partials + c * stride;
      const float factor = std::exp(p[h] - m);
      total += p[g + h] * factor;
      const float* acc = p + 2 * g + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) o[d] += acc[d] * factor;
    }
    for (int d = 0; d < hd; ++d) o[d] /= total;
  }
}

// Selective V for one query head: top_k of its scores s[0 .. n) of positions first .. first + n -
// 1, gather from V head vh.
void SelectiveHead(const AttentionKernels& kern, const float* s, int64_t first, int64_t n,
                   int top_k, const KvLayerView& kv, int vh, int hd, float* out) {
  thread_local std::vector<int32_t> idx;
  thread_local std::vector<float> w;
  internal::SelectTopK(s, n, top_k, kern, &idx, &w);
  std::fill(out, out + hd, 0.0f);
  kern.gather_v(w.data(), idx.data(), top_k, hd, VRow(kv, vh, first, hd), kv.dtype, out);
}

bool IsSelective(int top_k, const AttendedRange& range) {
  return top_k > 0 && top_k < range.length();
}

// The sink logits of the query heads that share K head kh, or null.
const float* GroupSinks(const AttentionShape& s, int kh) {
  return s.sinks != nullptr ? s.sinks + static_cast<int64_t>(kh) * (s.n_q / s.n_k) : nullptr;
}

// One decode task: (item, K head, chunk).
struct DecodeTask {
  int item = 0;
  int kh = 0;
  int64_t chunk = 0;
};

// Per-call bookkeeping of DecodeAttention, reused across calls by the calling thread.
struct DecodeWorkspace {
  std::vector<DecodeTask> tasks;
  std::vector<int64_t> chunks;         // [items]
  std::vector<int64_t> partial_base;   // [items] offset into partials (dense items)
  std::vector<int64_t> score_base;     // [items] offset into scores (selective items)
  std::vector<float> partials;
  // Selective items: [n_q][n_ctx - base] each, the scores of the K tiles of AttendedRange.
  std::vector<float> scores;
  // [items][n_k] chunks finished since the plan; a multiple of the item's chunks when the last of
  // a call's (or a decode team's layer's) finishes, whose task then merges.
  std::unique_ptr<std::atomic<int64_t>[]> finished;
  size_t finished_size = 0;
};

void PlanDecode(const AttentionShape& s, std::span<const DecodeItem> items, int top_k,
                DecodeWorkspace& ws) {
  const int g = s.n_q / s.n_k;
  ws.tasks.clear();
  ws.chunks.assign(items.size(), 0);
  ws.partial_base.assign(items.size(), 0);
  ws.score_base.assign(items.size(), 0);
  int64_t partial_floats = 0;
  int64_t score_floats = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    CheckKv(items[i].kv, items[i].n_ctx);
    const AttendedRange range(s, items[i].n_ctx);
    const int64_t chunks = range.chunks;
    ws.chunks[i] = chunks;
    if (IsSelective(top_k, range)) {
      ws.score_base[i] = score_floats;
      score_floats += static_cast<int64_t>(s.n_q) * (range.n_ctx - range.base);
    } else {
      ws.partial_base[i] = partial_floats;
      partial_floats += s.n_k * chunks * PartialFloats(g, s.head_dim);
    }
    for (int kh = 0; kh < s.n_k; ++kh) {
      for (int64_t c = 0; c < chunks; ++c) ws.tasks.push_back({static_cast<int>(i), kh, c});
    }
  }
  if (ws.partials.size() < static_cast<size_t>(partial_floats)) ws.partials.resize(partial_floats);
  if (ws.scores.size() < static_cast<size_t>(score_floats)) ws.scores.resize(score_floats);
  const size_t counters = items.size() * s.n_k;
  if (ws.finished_size < counters) {
    ws.finished.reset(new std::atomic<int64_t>[counters]);
    ws.finished_size = counters;
  }
  for (size_t i = 0; i < items.size(); ++i) {
    for (int kh = 0; kh < s.n_k; ++kh) {
      ws.finished[i * s.n_k + kh].store(0, std::memory_order_relaxed);
    }
  }
}

// Dense items: partial of the chunk; the last chunk of an (item, K head) to finish merges.
// Selective items: scores of the chunk into the item's score buffer.
void RunDecodeTask(const AttentionKernels& kern, const AttentionShape& s, const DecodeItem& item,
                   const DecodeTask& t, int top_k, DecodeWorkspace& ws) {
  thread_local AlignedScratch<float> scratch;
  const int g = s.n_q / s.n_k;
  const int hd = s.head_dim;
  const float* q_group = item.q + static_cast<int64_t>(t.kh) * g * hd;
  const AttendedRange range(s, item.n_ctx);
  const int64_t begin = range.begin(t.chunk);
  const int64_t end = range.end(t.chunk);
  if (IsSelective(top_k, range)) {
    // The chunk's whole tiles, into the item's rows of the tiles' scores.
    const int64_t tile_begin = range.base + t.chunk * range.rows;
    const int64_t row = range.n_ctx - range.base;
    float* dst =
        ws.scores.data() + ws.score_base[t.item] + t.kh * g * row + (tile_begin - range.base);
    Scores(kern, s, q_group, item.kv, t.kh, tile_begin, end - tile_begin, dst, row, {});
    return;
  }
  const int64_t chunks = ws.chunks[t.item];
  float* group_partials =
      ws.partials.data() + ws.partial_base[t.item] + t.kh * chunks * PartialFloats(g, hd);
  ChunkPartial(kern, s, q_group, item.kv, t.kh, begin, end, scratch,
               group_partials + t.chunk * PartialFloats(g, hd));
  std::atomic<int64_t>& finished = ws.finished[static_cast<size_t>(t.item) * s.n_k + t.kh];
  if ((finished.fetch_add(1, std::memory_order_acq_rel) + 1) % chunks == 0) {
    MergePartials(group_partials, chunks, g, hd, GroupSinks(s, t.kh),
                  item.out + static_cast<int64_t>(t.kh) * g * hd);
  }
}

}  // namespace

void StoreKRow(const float* row, int head_dim, DType dtype, void* head, int64_t pos) {
  if (dtype == DType::kF32) {
    auto* out = static_cast<float*>(head);
    for (int d = 0; d < head_dim; ++d) out[KElementIndex(dtype, head_dim, pos, d)] = row[d];
    return;
  }
  SIGMA_CHECK(dtype == DType::kF16 || dtype == DType::kBF16, "StoreKRow: cache dtype ",
              DTypeName(dtype));
  auto* out = static_cast<uint16_t*>(head);
  for (int d = 0; d < head_dim; ++d) {
    out[KElementIndex(dtype, head_dim, pos, d)] =
        dtype == DType::kF16 ? F32ToF16(row[d]) : F32ToBf16(row[d]);
  }
}

void DecodeAttention(const AttentionShape& shape, std::span<const DecodeItem> items, int top_k,
                     ThreadPool& pool) {
  CheckShape(shape);
  CheckSelective(shape, top_k);
  if (items.empty()) return;
  const AttentionKernels& kern = KernelsFor(shape.head_dim);
  // The calling thread's workspace, reused across calls. Bound to a reference so the workers
  // see the caller's instance (naming a thread_local inside the lambda would pick their own).
  thread_local DecodeWorkspace caller_ws;
  DecodeWorkspace& ws = caller_ws;
  PlanDecode(shape, items, top_k, ws);
  pool.ParallelFor(static_cast<int64_t>(ws.tasks.size()), [&](int64_t task, int) {
    const DecodeTask& t = ws.tasks[task];
    RunDecodeTask(kern, shape, items[t.item], t, top_k, ws);
  });
  // Selective items: per (item, query head) top-k and V gather.
  std::vector<std::pair<int, int>> heads;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!IsSelective(top_k, AttendedRange(shape, items[i].n_ctx))) continue;
    for (int h = 0; h < shape.n_q; ++h) heads.emplace_back(static_cast<int>(i), h);
  }
  const int gv = shape.n_q / shape.n_v;
  pool.ParallelFor(static_cast<int64_t>(heads.size()), [&](int64_t task, int) {
    const auto [i, h] = heads[task];
    const DecodeItem& item = items[i];
    const AttendedRange range(shape, item.n_ctx);
    const float* s = ws.scores.data() + ws.score_base[i] +
                     static_cast<int64_t>(h) * (range.n_ctx - range.base) +
                     (range.first - range.base);
    SelectiveHead(kern, s, range.first, range.length(), top_k, item.kv, h / gv, shape.head_dim,
                  item.out + static_cast<int64_t>(h) * shape.head_dim);
  });
}

struct DecodeAttentionTeam::State {
  AttentionShape shape;
  const AttentionKernels* kern = nullptr;
  std::vector<int64_t> n_ctx;                  // [items] as planned
  DecodeWorkspace ws;
  std::vector<std::vector<int>> member_tasks;  // [member] task indices, in task order
};

DecodeAttentionTeam::DecodeAttentionTeam() : state_(new State) {}
DecodeAttentionTeam::~DecodeAttentionTeam() = default;

void DecodeAttentionTeam::Plan(const AttentionShape& shape, std::span<const DecodeItem> items,
                               int members) {
  CheckShape(shape);
  SIGMA_CHECK(members >= 1, "DecodeAttentionTeam: ", members, " members");
  State& st = *state_;
  st.shape = shape;
  st.kern = &KernelsFor(shape.head_dim);
  st.n_ctx.clear();
  for (const DecodeItem& item : items) st.n_ctx.push_back(item.n_ctx);
  PlanDecode(shape, items, /*top_k=*/0, st.ws);
  // Tasks by rows, longest first, each to the member with the fewest rows so far (ties: the
  // lowest member), so that equal tasks go round the members in turn. Measured and left (SmolLM2
  // at 512 positions, 2 threads, fast minutes, alternating): each member's tasks as one
  // contiguous range (consecutive chunks of a head on one member), 0.999x; separately, a score
  // pass of 3 heads spreading the V prefetch (SpreadV), 1.017x, and each pass prefetching its
  // first 64 rows at once, 1.003x (medians of 10 rounds, within the noise).
  const auto task_rows = [&](const DecodeTask& t) {
    const AttendedRange range(shape, st.n_ctx[static_cast<size_t>(t.item)]);
    return range.end(t.chunk) - range.begin(t.chunk);
  };
  std::vector<int> order(st.ws.tasks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return task_rows(st.ws.tasks[static_cast<size_t>(a)]) >
           task_rows(st.ws.tasks[static_cast<size_t>(b)]);
  });
  st.member_tasks.assign(static_cast<size_t>(members), {});
  std::vector<int64_t> load(static_cast<size_t>(members), 0);
  for (const int task : order) {
    const auto m = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    st.member_tasks[m].push_back(task);
    load[m] += task_rows(st.ws.tasks[static_cast<size_t>(task)]);
  }
  for (auto& tasks : st.member_tasks) std::sort(tasks.begin(), tasks.end());
}

void DecodeAttentionTeam::Run(int member, std::span<const DecodeItem> items, const float* sinks) {
  State& st = *state_;
  AttentionShape shape = st.shape;
  shape.sinks = sinks;
  SIGMA_CHECK(member >= 0 && static_cast<size_t>(member) < st.member_tasks.size(),
              "DecodeAttentionTeam: member ", member);
  SIGMA_CHECK(items.size() == st.n_ctx.size(), "DecodeAttentionTeam: ", items.size(),
              " items, planned ", st.n_ctx.size());
  for (size_t i = 0; i < items.size(); ++i) {
    SIGMA_CHECK(items[i].n_ctx == st.n_ctx[i], "DecodeAttentionTeam: item ", i, " has ",
                items[i].n_ctx, " positions, planned ", st.n_ctx[i]);
  }
  for (const int task : st.member_tasks[static_cast<size_t>(member)]) {
    const DecodeTask& t = st.ws.tasks[static_cast<size_t>(task)];
    const DecodeItem& item = items[static_cast<size_t>(t.item)];
    CheckKv(item.kv, item.n_ctx);
    RunDecodeTask(*st.kern, shape, item, t, 0, st.ws);
  }
}

void PrefillAttention(const AttentionShape& shape, const float* q, const KvLayerView& kv,
                      int64_t start, int64_t n_new, int top_k, float* out, ThreadPool& pool) {
  CheckShape(shape);
  CheckSelective(shape, top_k);
  SIGMA_CHECK(start >= 0 && n_new >= 0, "PrefillAttention: start ", start, " n_new ", n_new);
  if (n_new == 0) return;
  CheckKv(kv, start + n_new);
  const AttentionKernels& kern = KernelsFor(shape.head_dim);
  const int g = shape.n_q / shape.n_k;
  const int gv = shape.n_q / shape.n_v;
  const int hd = shape.head_dim;
  const int64_t row = static_cast<int64_t>(shape.n_q) * hd;
  // One task per (query position, K head), K head by K head (consecutive tasks read the same
  // head's K and V rows, which then stay in L2: SmolLM2's 2048-token prefill +2-9%, 3 rounds A/B
  // against position-major), each head's latest positions (longest windows) first.
  pool.ParallelFor(n_new * shape.n_k, [&](int64_t task, int) {
    const int64_t t = n_new - 1 - task % n_new;
    const int kh = static_cast<int>(task / n_new);
    const AttendedRange range(shape, start + t + 1);
    const float* q_group = q + t * row + static_cast<int64_t>(kh) * g * hd;
    float* out_group = out + t * row + static_cast<int64_t>(kh) * g * hd;
    thread_local AlignedScratch<float> scratch;
    thread_local std::vector<float> partials;
    if (IsSelective(top_k, range)) {
      const int64_t tiles = range.n_ctx - range.base;
      float* scores = scratch.Get(static_cast<size_t>(g * tiles));
      Scores(kern, shape, q_group, kv, kh, range.base, tiles, scores, tiles, {});
      for (int h = 0; h < g; ++h) {
        SelectiveHead(kern, scores + h * tiles + (range.first - range.base), range.first,
                      range.length(), top_k, kv, (kh * g + h) / gv, hd,
                      out_group + static_cast<int64_t>(h) * hd);
      }
      return;
    }
    // Same chunking and merge order as DecodeAttention, so both give identical results.
    partials.resize(static_cast<size_t>(range.chunks * PartialFloats(g, hd)));
    for (int64_t c = 0; c < range.chunks; ++c) {
      ChunkPartial(kern, shape, q_group, kv, kh, range.begin(c), range.end(c), scratch,
                   partials.data() + c * PartialFloats(g, hd));
    }
    MergePartials(partials.data(), range.chunks, g, hd, GroupSinks(shape, kh), out_group);
  });
}

}  // namespace sigma
