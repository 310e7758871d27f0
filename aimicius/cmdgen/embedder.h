// Sentence embeddings for the CMDGen scores (paper §6.1: cosine similarity of
// sentence-transformers/all-MiniLM-L6-v2 embeddings).
//
// Embedder is the interface the scorer calls; the MiniLM-L6-v2 encoder in engine/ implements it
// (when its weights are installed). HashingEmbedder is a documented, dependency-free substitute:
// a 384-dimensional hashed bag of lower-cased word tokens and character trigrams, L2-normalised.
// It is NOT MiniLM and its scores are not comparable with the paper's; a run records which
// embedder it used (Embedder::Name) next to its thresholds.
// Thread safety: implementations must allow concurrent Embed calls on a const-free object
// (HashingEmbedder is stateless).
#ifndef SIGMA_AIMICIUS_CMDGEN_EMBEDDER_H_
#define SIGMA_AIMICIUS_CMDGEN_EMBEDDER_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::aimicius {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // One embedding vector; every call returns the same dimension.
  virtual StatusOr<std::vector<float>> Embed(std::string_view text) = 0;
  // Identifies the model in run configs ("all-MiniLM-L6-v2", "hashing-ngram-384").
  virtual std::string Name() const = 0;
};

class HashingEmbedder : public Embedder {
 public:
  static constexpr int kDim = 384;
  StatusOr<std::vector<float>> Embed(std::string_view text) override;
  std::string Name() const override { return "hashing-ngram-384"; }
};

// Cosine similarity in [-1, 1]; 0 when either vector is all zeros. INVALID_ARGUMENT when the
// dimensions differ or are zero.
StatusOr<double> Cosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_CMDGEN_EMBEDDER_H_
