// MiniLmEmbedder: the paper's CMDGen embedder (sentence-transformers/all-MiniLM-L6-v2), as an
// aimicius::Embedder over the engine's SentenceEncoder (engine/encoder/bert_encoder.h).
//
// Ownership: owns the encoder. Thread safety: Embed may be called from many threads; calls are
// serialised by a mutex because the encoder has shared scratch buffers.
#ifndef SIGMA_AIMICIUS_CMDGEN_MINILM_EMBEDDER_H_
#define SIGMA_AIMICIUS_CMDGEN_MINILM_EMBEDDER_H_

#include <memory>
#include <mutex>
#include <string>

#include "aimicius/cmdgen/embedder.h"
#include "engine/encoder/bert_encoder.h"

namespace sigma::aimicius {

class MiniLmEmbedder : public Embedder {
 public:
  // `dir`: a sentence-transformers folder ("" = engine's DefaultEncoderPath()); threads <= 0: all
  // cores. NOT_FOUND / INVALID_ARGUMENT from the encoder when the weights are missing or broken.
  static StatusOr<std::unique_ptr<MiniLmEmbedder>> Open(const std::string& dir, int threads);

  StatusOr<std::vector<float>> Embed(std::string_view text) override;
  std::string Name() const override { return "all-MiniLM-L6-v2"; }

 private:
  explicit MiniLmEmbedder(std::unique_ptr<SentenceEncoder> encoder)
      : encoder_(std::move(encoder)) {}

  std::mutex mu_;
  std::unique_ptr<SentenceEncoder> encoder_;
};

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_CMDGEN_MINILM_EMBEDDER_H_
