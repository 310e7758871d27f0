// SentenceEncoder: a BERT sentence-transformers model (all-MiniLM-L6-v2) on the CPU, for the
// embedding-cosine scores of CMDGen (paper §6.1; DESIGN.md §1). Text -> WordPiece ids ([CLS] ...
// [SEP], truncated to max_seq_length) -> word + position + token-type embeddings, LayerNorm ->
// N post-LN encoder layers (multi-head self-attention, exact GELU MLP) -> mean pooling over all
// tokens -> L2 normalisation.
//
//   SIGMA_ASSIGN_OR_RETURN(auto enc, SentenceEncoder::Open(DefaultEncoderPath(), 2));
//   SIGMA_ASSIGN_OR_RETURN(std::vector<float> a, enc->Embed("nvidia-smi -L"));
//   float similarity = Cosine(a, b);
//
// `dir` is a sentence-transformers folder: config.json, model.safetensors (F32, F16 or BF16),
// vocab.txt, and optionally tokenizer_config.json (do_lower_case, strip_accents,
// tokenize_chinese_chars), sentence_bert_config.json (max_seq_length, default the position
// table size) and 1_Pooling/config.json (only mean pooling is supported).
// Ownership: owns the mapped weights, tokenizer, thread pool and scratch buffers.
// Thread safety: Embed uses shared scratch and the pool: one caller at a time per encoder.
#ifndef SIGMA_ENGINE_ENCODER_BERT_ENCODER_H_
#define SIGMA_ENGINE_ENCODER_BERT_ENCODER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/encoder/wordpiece.h"
#include "engine/tensor.h"

namespace sigma {

class SafetensorsFile;
class ThreadPool;

struct BertConfig {
  int vocab_size = 0;
  int hidden = 0;        // 384 for MiniLM-L6
  int layers = 0;        // 6
  int heads = 0;         // 12
  int head_dim = 0;      // hidden / heads = 32
  int intermediate = 0;  // 1536
  int max_positions = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;
};

// Reads a Hugging Face BERT config.json (model_type "bert", hidden_act "gelu", absolute
// positions).
StatusOr<BertConfig> ParseBertConfig(std::string_view json, std::string_view source);

class SentenceEncoder {
 public:
  // threads <= 0: all online cores.
  static StatusOr<std::unique_ptr<SentenceEncoder>> Open(const std::string& dir, int threads);
  ~SentenceEncoder();
  SentenceEncoder(const SentenceEncoder&) = delete;
  SentenceEncoder& operator=(const SentenceEncoder&) = delete;

  // Unit-length embedding [dim()] of `text` (any UTF-8; invalid bytes are dropped).
  StatusOr<std::vector<float>> Embed(std::string_view text);
  // The same from ids as Encode() returns them (1 .. max_seq_length ids, each < vocab size).
  StatusOr<std::vector<float>> EmbedIds(std::span<const int32_t> ids);
  // [CLS] pieces [SEP], truncated to max_seq_length().
  std::vector<int32_t> Encode(std::string_view text) const;

  int dim() const { return config_.hidden; }
  int max_seq_length() const { return max_seq_length_; }
  const BertConfig& config() const { return config_; }
  const WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Layer;
  SentenceEncoder();
  Status BindWeights();
  Status LoadOptions(WordPieceOptions* options);
  void RunLayer(const Layer& layer, int64_t tokens);

  std::string dir_;
  BertConfig config_;
  int max_seq_length_ = 0;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::unique_ptr<SafetensorsFile> weights_;
  std::unique_ptr<ThreadPool> pool_;
  TensorView word_embeddings_;      // [vocab, hidden]
  TensorView position_embeddings_;  // [max_positions, hidden]
  std::vector<float> token_type0_;  // [hidden]: row 0 of the token-type table
  std::vector<float> embed_ln_gamma_, embed_ln_beta_;  // [hidden]
  std::vector<Layer> layers_;
  // Scratch, sized for max_seq_length tokens.
  std::vector<float> x_;        // [tokens, hidden]: the residual stream
  std::vector<float> q_, k_, v_;  // [tokens, hidden]
  std::vector<float> ctx_;      // [tokens, hidden]
  std::vector<float> proj_;     // [tokens, hidden]
  std::vector<float> inter_;    // [tokens, intermediate]
  std::vector<float> scores_;   // [hidden + threads, tokens]: attention scratch
};

// Cosine similarity of two vectors of equal length (0 when either is all zeros).
float Cosine(std::span<const float> a, std::span<const float> b);

// The default encoder folder (fetched by scripts/setup.sh): $SIGMA_EVAL_ENCODER when set, else
// models/all-minilm-l6-v2 under the working folder, else under the source tree this binary was
// built from.
std::string DefaultEncoderPath();

}  // namespace sigma

#endif  // SIGMA_ENGINE_ENCODER_BERT_ENCODER_H_
