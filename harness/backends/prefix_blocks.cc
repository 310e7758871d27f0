#include "harness/backends/prefix_blocks.h"

#include <algorithm>

namespace sigma::harness {

int64_t PrefixBlocks::Reusable(std::span<const int32_t> tokens) const {
  const auto n = static_cast<int64_t>(tokens.size());
  const auto common = static_cast<int64_t>(
      std::mismatch(held_.begin(), held_.end(), tokens.begin(), tokens.end()).first -
      held_.begin());
  // Whole blocks only, and at least the last token computed for its logits.
  return std::max<int64_t>(0, std::min(common, n - 1)) / block_ * block_;
}

StatusOr<int64_t> PrefixBlocks::Fill(ForwardModel& model, std::span<const int32_t> tokens,
                                     std::vector<float>* last_logits) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return InvalidArgumentError("PrefixBlocks: no tokens to prefill");
  const int64_t reuse = Reusable(tokens);
  held_.clear();
  SIGMA_RETURN_IF_ERROR(model.TruncateSequence(seq_, reuse));
  for (int64_t begin = reuse; begin < n; begin += block_) {
    const int64_t end = std::min(n, begin + block_);
    const bool last = end == n;
    SIGMA_RETURN_IF_ERROR(model.Prefill(seq_, tokens.subspan(begin, end - begin),
                                        last ? LogitsMode::kLast : LogitsMode::kNone,
                                        last ? last_logits : nullptr));
  }
  held_.assign(tokens.begin(), tokens.end());
  return n - reuse;
}

Status PrefixBlocks::CopyFrom(ForwardModel& model, const PrefixBlocks& from, int64_t length) {
  if (from.block_ != block_ || length % block_ != 0 ||
      length > static_cast<int64_t>(from.held_.size())) {
    return InvalidArgumentError("PrefixBlocks: cannot copy ", length, " positions of ",
                                from.held_.size());
  }
  held_.clear();
  SIGMA_RETURN_IF_ERROR(model.CopySequence(from.seq_, seq_, length));
  held_.assign(from.held_.begin(), from.held_.begin() + length);
  return Status::Ok();
}

}  // namespace sigma::harness
