#include "engine/encoder/bert_encoder.h"

#include <cmath>
#include <cstdlib>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/thread_pool.h"
#include "engine/encoder/bert_ops.h"
#include "engine/loader/safetensors.h"

namespace sigma {

struct SentenceEncoder::Layer {
  TensorView q_w, k_w, v_w, o_w;     // [hidden, hidden]
  TensorView up_w;                   // [intermediate, hidden]
  TensorView down_w;                 // [hidden, intermediate]
  std::vector<float> q_b, k_b, v_b, o_b, down_b;  // [hidden]
  std::vector<float> up_b;                        // [intermediate]
  std::vector<float> attn_ln_gamma, attn_ln_beta;  // [hidden]
  std::vector<float> out_ln_gamma, out_ln_beta;    // [hidden]
};

namespace {

constexpr char kDefaultEncoder[] = "models/all-minilm-l6-v2";

Status RequirePositive(JsonFields& f, const char* key, int max, int* out) {
  int64_t v = 0;
  SIGMA_RETURN_IF_ERROR(f.RequireInt(key, &v));
  if (v < 1 || v > max) {
    return InvalidArgumentError(f.context(), ": ", key, ": expected 1 .. ", max, ", got ", v);
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

Status ExpectString(JsonFields& f, const char* key, std::string_view want) {
  std::string got(want);
  SIGMA_RETURN_IF_ERROR(f.OptionalString(key, &got));
  if (got != want) {
    return UnimplementedError(f.context(), ": ", key, ": only \"", want, "\" is supported, got \"",
                              got, "\"");
  }
  return Status::Ok();
}

// Finds `name` (or "bert." + name) with the expected shape.
StatusOr<TensorView> FindTensor(const SafetensorsFile& file, const std::string& name,
                                std::vector<int64_t> shape) {
  const auto& tensors = file.tensors();
  auto it = tensors.find(name);
  if (it == tensors.end()) it = tensors.find("bert." + name);
  if (it == tensors.end()) {
    if (file.Find(name) != nullptr) {
      return InvalidArgumentError(file.path(), ": tensor ", name, ": dtype ", file.Find(name)->dtype,
                                  " is not F32, F16 or BF16");
    }
    return NotFoundError(file.path(), ": tensor ", name, " is missing");
  }
  if (it->second.shape != shape) {
    std::string want, got;
    for (int64_t d : shape) want += StrCat(want.empty() ? "" : ", ", d);
    for (int64_t d : it->second.shape) got += StrCat(got.empty() ? "" : ", ", d);
    return InvalidArgumentError(file.path(), ": tensor ", name, ": shape [", got, "], expected [",
                                want, "]");
  }
  return it->second;
}

// A 1-D tensor of length n as f32.
StatusOr<std::vector<float>> LoadVector(const SafetensorsFile& file, const std::string& name,
                                        int64_t n) {
  SIGMA_ASSIGN_OR_RETURN(TensorView t, FindTensor(file, name, {n}));
  std::vector<float> out(static_cast<size_t>(n));
  DequantizeRow(t, 0, out.data());
  return out;
}

StatusOr<JsonFields*> OpenJson(const std::string& path, std::unique_ptr<rapidjson::Document>* doc,
                               std::unique_ptr<JsonFields>* fields) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  SIGMA_ASSIGN_OR_RETURN(*doc, ParseJson(text, path));
  if (!(*doc)->IsObject()) return InvalidArgumentError(path, ": expected a JSON object");
  *fields = std::make_unique<JsonFields>(**doc, path);
  return fields->get();
}

}  // namespace

StatusOr<BertConfig> ParseBertConfig(std::string_view json, std::string_view source) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(json, source));
  if (!doc->IsObject()) return InvalidArgumentError(source, ": expected a JSON object");
  JsonFields f(*doc, std::string(source));
  BertConfig c;
  SIGMA_RETURN_IF_ERROR(ExpectString(f, "model_type", "bert"));
  SIGMA_RETURN_IF_ERROR(ExpectString(f, "hidden_act", "gelu"));
  SIGMA_RETURN_IF_ERROR(ExpectString(f, "position_embedding_type", "absolute"));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "vocab_size", 1 << 22, &c.vocab_size));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "hidden_size", 1 << 16, &c.hidden));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "num_hidden_layers", 256, &c.layers));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "num_attention_heads", 1024, &c.heads));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "intermediate_size", 1 << 18, &c.intermediate));
  SIGMA_RETURN_IF_ERROR(RequirePositive(f, "max_position_embeddings", 1 << 16, &c.max_positions));
  c.type_vocab_size = 2;
  int64_t types = c.type_vocab_size;
  SIGMA_RETURN_IF_ERROR(f.OptionalInt("type_vocab_size", &types));
  if (types < 1 || types > 1024) {
    return InvalidArgumentError(source, ": type_vocab_size: expected 1 .. 1024, got ", types);
  }
  c.type_vocab_size = static_cast<int>(types);
  double eps = c.layer_norm_eps;
  SIGMA_RETURN_IF_ERROR(f.OptionalDouble("layer_norm_eps", &eps));
  if (!(eps > 0 && eps < 1)) return InvalidArgumentError(source, ": layer_norm_eps: ", eps);
  c.layer_norm_eps = static_cast<float>(eps);
  if (c.hidden % c.heads != 0) {
    return InvalidArgumentError(source, ": hidden_size ", c.hidden,
                                " is not a multiple of num_attention_heads ", c.heads);
  }
  c.head_dim = c.hidden / c.heads;
  return c;
}

SentenceEncoder::SentenceEncoder() = default;
SentenceEncoder::~SentenceEncoder() = default;

StatusOr<std::unique_ptr<SentenceEncoder>> SentenceEncoder::Open(const std::string& dir,
                                                                 int threads) {
  if (!IsDirectory(dir)) {
    return NotFoundError(dir, ": not a folder (the sentence encoder is fetched by scripts/setup.sh)");
  }
  std::unique_ptr<SentenceEncoder> enc(new SentenceEncoder());
  enc->dir_ = dir;
  const std::string config_path = dir + "/config.json";
  SIGMA_ASSIGN_OR_RETURN(std::string config_text, ReadFile(config_path));
  SIGMA_ASSIGN_OR_RETURN(enc->config_, ParseBertConfig(config_text, config_path));
  WordPieceOptions options;
  SIGMA_RETURN_IF_ERROR(enc->LoadOptions(&options));
  SIGMA_ASSIGN_OR_RETURN(enc->tokenizer_,
                         WordPieceTokenizer::FromVocabFile(dir + "/vocab.txt", options));
  if (enc->tokenizer_->vocab_size() != enc->config_.vocab_size) {
    return InvalidArgumentError(dir, "/vocab.txt: ", enc->tokenizer_->vocab_size(),
                                " tokens, config.json vocab_size is ", enc->config_.vocab_size);
  }
  SIGMA_ASSIGN_OR_RETURN(enc->weights_, SafetensorsFile::Open(dir + "/model.safetensors"));
  SIGMA_RETURN_IF_ERROR(enc->BindWeights());
  enc->pool_ = std::make_unique<ThreadPool>(threads);
  const auto tokens = static_cast<size_t>(enc->max_seq_length_);
  const auto hidden = static_cast<size_t>(enc->config_.hidden);
  for (auto* buf : {&enc->x_, &enc->q_, &enc->k_, &enc->v_, &enc->ctx_, &enc->proj_}) {
    buf->resize(tokens * hidden);
  }
  enc->inter_.resize(tokens * static_cast<size_t>(enc->config_.intermediate));
  enc->scores_.resize(static_cast<size_t>(
      bert::AttentionScratchFloats(enc->max_seq_length_, enc->config_.hidden, enc->pool_->size())));
  return enc;
}

// Tokenizer flags, max_seq_length and the pooling mode from the optional JSON files.
Status SentenceEncoder::LoadOptions(WordPieceOptions* options) {
  std::unique_ptr<rapidjson::Document> doc;
  std::unique_ptr<JsonFields> fields;
  if (const std::string p = dir_ + "/tokenizer_config.json"; FileExists(p)) {
    SIGMA_ASSIGN_OR_RETURN(JsonFields * f, OpenJson(p, &doc, &fields));
    SIGMA_RETURN_IF_ERROR(f->OptionalBool("do_lower_case", &options->lowercase));
    options->strip_accents = options->lowercase;  // null follows lowercase
    SIGMA_RETURN_IF_ERROR(f->OptionalBool("strip_accents", &options->strip_accents));
    SIGMA_RETURN_IF_ERROR(
        f->OptionalBool("tokenize_chinese_chars", &options->handle_chinese_chars));
    SIGMA_RETURN_IF_ERROR(f->OptionalString("unk_token", &options->unk_token));
  }
  max_seq_length_ = config_.max_positions;
  if (const std::string p = dir_ + "/sentence_bert_config.json"; FileExists(p)) {
    SIGMA_ASSIGN_OR_RETURN(JsonFields * f, OpenJson(p, &doc, &fields));
    int64_t n = max_seq_length_;
    SIGMA_RETURN_IF_ERROR(f->OptionalInt("max_seq_length", &n));
    if (n < 2 || n > config_.max_positions) {
      return InvalidArgumentError(p, ": max_seq_length: expected 2 .. ", config_.max_positions,
                                  ", got ", n);
    }
    max_seq_length_ = static_cast<int>(n);
  }
  if (const std::string p = dir_ + "/1_Pooling/config.json"; FileExists(p)) {
    SIGMA_ASSIGN_OR_RETURN(JsonFields * f, OpenJson(p, &doc, &fields));
    for (const char* key : {"pooling_mode_cls_token", "pooling_mode_max_tokens",
                            "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                            "pooling_mode_lasttoken"}) {
      bool on = false;
      SIGMA_RETURN_IF_ERROR(f->OptionalBool(key, &on));
      if (on) return UnimplementedError(p, ": ", key, ": only mean pooling is supported");
    }
    bool mean = true;
    SIGMA_RETURN_IF_ERROR(f->OptionalBool("pooling_mode_mean_tokens", &mean));
    if (!mean) return UnimplementedError(p, ": pooling_mode_mean_tokens must be true");
  }
  return Status::Ok();
}

Status SentenceEncoder::BindWeights() {
  const SafetensorsFile& f = *weights_;
  const int64_t h = config_.hidden, inter = config_.intermediate;
  SIGMA_ASSIGN_OR_RETURN(word_embeddings_,
                         FindTensor(f, "embeddings.word_embeddings.weight", {config_.vocab_size, h}));
  SIGMA_ASSIGN_OR_RETURN(position_embeddings_, FindTensor(f, "embeddings.position_embeddings.weight",
                                                          {config_.max_positions, h}));
  SIGMA_ASSIGN_OR_RETURN(TensorView types, FindTensor(f, "embeddings.token_type_embeddings.weight",
                                                      {config_.type_vocab_size, h}));
  token_type0_.resize(static_cast<size_t>(h));
  DequantizeRow(types, 0, token_type0_.data());
  SIGMA_ASSIGN_OR_RETURN(embed_ln_gamma_, LoadVector(f, "embeddings.LayerNorm.weight", h));
  SIGMA_ASSIGN_OR_RETURN(embed_ln_beta_, LoadVector(f, "embeddings.LayerNorm.bias", h));
  layers_.resize(static_cast<size_t>(config_.layers));
  for (int i = 0; i < config_.layers; ++i) {
    Layer& l = layers_[static_cast<size_t>(i)];
    const std::string p = StrCat("encoder.layer.", i, ".");
    SIGMA_ASSIGN_OR_RETURN(l.q_w, FindTensor(f, p + "attention.self.query.weight", {h, h}));
    SIGMA_ASSIGN_OR_RETURN(l.k_w, FindTensor(f, p + "attention.self.key.weight", {h, h}));
    SIGMA_ASSIGN_OR_RETURN(l.v_w, FindTensor(f, p + "attention.self.value.weight", {h, h}));
    SIGMA_ASSIGN_OR_RETURN(l.o_w, FindTensor(f, p + "attention.output.dense.weight", {h, h}));
    SIGMA_ASSIGN_OR_RETURN(l.up_w, FindTensor(f, p + "intermediate.dense.weight", {inter, h}));
    SIGMA_ASSIGN_OR_RETURN(l.down_w, FindTensor(f, p + "output.dense.weight", {h, inter}));
    SIGMA_ASSIGN_OR_RETURN(l.q_b, LoadVector(f, p + "attention.self.query.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.k_b, LoadVector(f, p + "attention.self.key.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.v_b, LoadVector(f, p + "attention.self.value.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.o_b, LoadVector(f, p + "attention.output.dense.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.up_b, LoadVector(f, p + "intermediate.dense.bias", inter));
    SIGMA_ASSIGN_OR_RETURN(l.down_b, LoadVector(f, p + "output.dense.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.attn_ln_gamma, LoadVector(f, p + "attention.output.LayerNorm.weight", h));
    SIGMA_ASSIGN_OR_RETURN(l.attn_ln_beta, LoadVector(f, p + "attention.output.LayerNorm.bias", h));
    SIGMA_ASSIGN_OR_RETURN(l.out_ln_gamma, LoadVector(f, p + "output.LayerNorm.weight", h));
    SIGMA_ASSIGN_OR_RETURN(l.out_ln_beta, LoadVector(f, p + "output.LayerNorm.bias", h));
  }
  return Status::Ok();
}

std::vector<int32_t> SentenceEncoder::Encode(std::string_view text) const {
  return tokenizer_->Encode(text, max_seq_length_);
}

StatusOr<std::vector<float>> SentenceEncoder::Embed(std::string_view text) {
  const std::vector<int32_t> ids = Encode(text);
  return EmbedIds(ids);
}

void SentenceEncoder::RunLayer(const Layer& l, int64_t tokens) {
  const int64_t h = config_.hidden;
  ThreadPool& pool = *pool_;
  MatMul(l.q_w, x_.data(), tokens, l.q_b.data(), q_.data(), pool);
  MatMul(l.k_w, x_.data(), tokens, l.k_b.data(), k_.data(), pool);
  MatMul(l.v_w, x_.data(), tokens, l.v_b.data(), v_.data(), pool);
  bert::AttentionForward(q_.data(), k_.data(), v_.data(), tokens, config_.heads, config_.head_dim,
                         ctx_.data(), scores_.data(), pool);
  MatMul(l.o_w, ctx_.data(), tokens, l.o_b.data(), proj_.data(), pool);
  bert::AddLayerNorm(x_.data(), proj_.data(), l.attn_ln_gamma.data(), l.attn_ln_beta.data(),
                     config_.layer_norm_eps, tokens, h);  // post-LN: x = LN(x + attention)
  MatMul(l.up_w, x_.data(), tokens, l.up_b.data(), inter_.data(), pool);
  bert::Gelu(inter_.data(), tokens * config_.intermediate);
  MatMul(l.down_w, inter_.data(), tokens, l.down_b.data(), proj_.data(), pool);
  bert::AddLayerNorm(x_.data(), proj_.data(), l.out_ln_gamma.data(), l.out_ln_beta.data(),
                     config_.layer_norm_eps, tokens, h);
}

StatusOr<std::vector<float>> SentenceEncoder::EmbedIds(std::span<const int32_t> ids) {
  const auto tokens = static_cast<int64_t>(ids.size());
  if (tokens < 1 || tokens > max_seq_length_) {
    return InvalidArgumentError("SentenceEncoder::EmbedIds: ", tokens, " ids, expected 1 .. ",
                                max_seq_length_);
  }
  const int64_t h = config_.hidden;
  std::vector<float> pos(static_cast<size_t>(h));
  for (int64_t t = 0; t < tokens; ++t) {
    const int32_t id = ids[static_cast<size_t>(t)];
    if (id < 0 || id >= config_.vocab_size) {
      return InvalidArgumentError("SentenceEncoder::EmbedIds: id ", id, " at position ", t,
                                  " outside the vocabulary of ", config_.vocab_size);
    }
    float* row = x_.data() + t * h;
    EmbeddingRow(word_embeddings_, id, row);
    EmbeddingRow(position_embeddings_, t, pos.data());
    for (int64_t i = 0; i < h; ++i) row[i] += pos[i] + token_type0_[i];
  }
  bert::AddLayerNorm(x_.data(), nullptr, embed_ln_gamma_.data(), embed_ln_beta_.data(),
                     config_.layer_norm_eps, tokens, h);
  for (const Layer& layer : layers_) RunLayer(layer, tokens);
  std::vector<float> out(static_cast<size_t>(h));
  bert::MeanPool(x_.data(), tokens, h, out.data());
  bert::L2Normalize(out);
  return out;
}

float Cosine(std::span<const float> a, std::span<const float> b) {
  SIGMA_CHECK(a.size() == b.size(), "Cosine: lengths ", a.size(), " and ", b.size());
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0.0 || nb <= 0.0) return 0.0f;
  return static_cast<float>(dot / std::sqrt(na * nb));
}

std::string DefaultEncoderPath() {
  if (const char* env = std::getenv("SIGMA_EVAL_ENCODER"); env != nullptr && *env != '\0') {
    return env;
  }
  if (IsDirectory(kDefaultEncoder)) return kDefaultEncoder;
  return std::string(SIGMA_SOURCE_ROOT) + "/" + kDefaultEncoder;
}

}  // namespace sigma
