#include "aimicius/cmdgen/minilm_embedder.h"

namespace sigma::aimicius {

StatusOr<std::unique_ptr<MiniLmEmbedder>> MiniLmEmbedder::Open(const std::string& dir,
                                                               int threads) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<SentenceEncoder> encoder,
                         SentenceEncoder::Open(dir.empty() ? DefaultEncoderPath() : dir, threads));
  return std::unique_ptr<MiniLmEmbedder>(new MiniLmEmbedder(std::move(encoder)));
}

StatusOr<std::vector<float>> MiniLmEmbedder::Embed(std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  return encoder_->Embed(text);
}

}  // namespace sigma::aimicius
