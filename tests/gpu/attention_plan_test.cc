// The host-side plan of the CUDA decode attention, which needs no device: how many splits
// (waves over the resident CTAs, the power-of-two context bucket, the caps) and which kernel and
// head block serve a layout. Built with the CUDA backend, labelled unit: it runs in CI.
#include <gtest/gtest.h>

#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/decode_attention_mma.cuh"

namespace sigma::cuda {
namespace {

TEST(AttentionPlanTest, SplitsFillWholeWaves) {
  // 16 Sigma rows on the CUDA-core kernel: 128 CTAs per split over 4 x 132 resident CTAs.
  // 4 splits are 0.97 of a wave; 5 would be 1.2 waves, the second almost empty.
  EXPECT_EQ(ChooseSplits(128, 16384, 528, 128), 4);
  // One Sigma row (8 CTAs per split) fills the device in one wave of 66 splits.
  EXPECT_EQ(ChooseSplits(8, 131072, 528, 128), 66);
  // A grid that already covers many waves is not split.
  EXPECT_EQ(ChooseSplits(10000, 131072, 528, 128), 1);
}

TEST(AttentionPlanTest, SplitsDependOnTheContextBucketAndRespectTheCaps) {
  for (int64_t ctx : {4097, 5000, 8192}) EXPECT_EQ(ChooseSplits(8, ctx, 528, 128), ChooseSplits(8, 8192, 528, 128));
  // At least 256 positions per split: a 1000-position context (bucket 1024) takes at most 4.
  EXPECT_LE(ChooseSplits(1, 1000, 10000, 128), 4);
  EXPECT_EQ(ChooseSplits(1, 1 << 20, 10000, 16), 16);  // max_splits
  EXPECT_EQ(ChooseSplits(1, 1, 10000, 128), 1);
  EXPECT_GE(ChooseSplits(0, 0, 0, 0), 1);  // degenerate inputs still give a valid count
}

TEST(AttentionPlanTest, TensorCoreBlocksFollowTheGroupAndSharedMemory) {
  EXPECT_EQ(attention::MmaBlockHeads(32, 4, 16, 64), 8);   // Sigma: one CTA per K head
  EXPECT_EQ(attention::MmaBlockHeads(32, 16, 16, 64), 2);  // GQA16
  EXPECT_EQ(attention::MmaBlockHeads(32, 8, 8, 128), 4);   // Llama-3-8B
  EXPECT_EQ(attention::MmaBlockHeads(14, 2, 2, 64), 8);    // Qwen2-0.5B: groups of 7
  EXPECT_EQ(attention::MmaBlockHeads(64, 2, 2, 64), 16);   // groups of 32: blocks of 16
  EXPECT_EQ(attention::MmaBlockHeads(4, 4, 4, 128), 1);    // MHA
  EXPECT_EQ(attention::MmaBlockHeads(6, 2, 2, 16), 0);     // head_dim 16: CUDA-core kernel
  EXPECT_EQ(attention::MmaBlockHeads(6, 4, 2, 64), 0);     // n_q not a multiple of n_k
}

TEST(AttentionPlanTest, AnExplicitMaxGroupSelectsTheCudaCoreKernel) {
  EXPECT_TRUE(AttentionUsesMma(32, 4, 16, 64, 0));
  EXPECT_EQ(AttentionHeadsPerCta(32, 4, 16, 64, 0), 8);
  EXPECT_FALSE(AttentionUsesMma(32, 4, 16, 64, 4));
  EXPECT_EQ(AttentionHeadsPerCta(32, 4, 16, 64, 4), 4);
  EXPECT_FALSE(AttentionUsesMma(6, 2, 2, 16, 0));
  EXPECT_EQ(AttentionHeadsPerCta(6, 2, 2, 16, 0), 4);  // groups of 3 on the CUDA-core kernel
  EXPECT_EQ(AttentionHeadsPerCta(32, 16, 16, 16, 0), 2);
}

}  // namespace
}  // namespace sigma::cuda
