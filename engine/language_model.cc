#include "engine/language_model.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/gguf/gguf_file.h"

namespace sigma {
namespace {

constexpr char kDefaultModel[] = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

// chat_template of a checkpoint folder's tokenizer_config.json, or "" when there is none.
StatusOr<std::string> FolderChatTemplate(const std::string& dir) {
  const std::string path = dir + "/tokenizer_config.json";
  if (!FileExists(path)) return std::string();
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(text, path));
  if (!doc->IsObject()) return InvalidArgumentError(path, ": expected a JSON object");
  JsonFields fields(*doc, path);
  std::string tmpl;
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("chat_template", &tmpl));
  return tmpl;
}

// The CUDA model's options from the engine's: a bf16 KV cache; f32 GEMM operands for a checkpoint
// stored in f32 (the oracle fixtures), bf16 for anything else (bf16, f16, quantized).
cuda::CudaOptions CudaOptionsFrom(const EngineOptions& options, const ModelWeights& w) {
  cuda::CudaOptions o;
  o.weight_dtype = !w.layers.empty() && w.layers[0].q_proj.dtype == DType::kF32 ? "f32" : "bf16";
  o.selective_v_top_k = options.selective_v_top_k;
  o.max_context = options.max_context;
  o.max_sequences = options.max_sequences;
  return o;
}

}  // namespace

Status CheckDeviceAvailable(const std::string& device) {
  if (device == "cpu") return Status::Ok();
  if (device != "cuda") {
    return InvalidArgumentError("--device: expected cpu or cuda, got '", device, "'");
  }
  if (!cuda::Compiled()) {
    return UnavailableError(
        "--device cuda: this build has no CUDA backend (configure with "
        "-DSIGMA_CUDA=ON where nvcc and cuBLAS exist)");
  }
  StatusOr<std::string> described = cuda::DescribeDevice();
  if (!described.ok()) {
    std::string why(described.status().message());
    if (why.rfind("CUDA: ", 0) == 0) why.erase(0, 6);
    return UnavailableError("--device cuda: no CUDA device: ", why);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ForwardModel>> LoadForwardModel(const std::string& path,
                                                         const EngineOptions& options,
                                                         std::vector<std::string>* weight_files) {
  SIGMA_RETURN_IF_ERROR(CheckDeviceAvailable(options.device));
  if (options.device == "cuda" && options.kv_dtype != "auto" && options.kv_dtype != "bf16") {
    return InvalidArgumentError("--kv-dtype ", options.kv_dtype,
                                ": --device cuda keeps the KV cache "
                                "in bf16 (use auto or bf16)");
  }
  SIGMA_ASSIGN_OR_RETURN(ModelWeights weights, LoadModelWeights(path));
  if (weight_files != nullptr && weights.source) *weight_files = weights.source->files();
  if (options.device == "cpu") {
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                           Model::FromWeights(std::move(weights), options));
    return std::unique_ptr<ForwardModel>(std::move(model));
  }
  // The upload copies what it needs; the host weights (and their maps) are released on return.
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaModel> model,
                         cuda::CudaModel::Create(weights, CudaOptionsFrom(options, weights)));
  return std::unique_ptr<ForwardModel>(std::move(model));
}

StatusOr<std::unique_ptr<LanguageModel>> LanguageModel::Open(const std::string& path,
                                                             const EngineOptions& options) {
  std::unique_ptr<LanguageModel> lm(new LanguageModel());
  lm->path_ = path;
  lm->options_ = options;
  if (IsDirectory(path)) {
    SIGMA_ASSIGN_OR_RETURN(lm->model_, LoadForwardModel(path, options, &lm->weight_files_));
    if (FileExists(path + "/tokenizer.json")) {
      SIGMA_ASSIGN_OR_RETURN(lm->tokenizer_,
                             Tokenizer::FromTokenizerJson(path + "/tokenizer.json"));
    }
  } else if (IsGgufPath(path)) {
    SIGMA_ASSIGN_OR_RETURN(lm->model_, LoadForwardModel(path, options, &lm->weight_files_));
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path));
    if (GgufHasTokenizer(*file)) {  // else token ids only, as a folder without tokenizer.json
      SIGMA_ASSIGN_OR_RETURN(lm->tokenizer_, Tokenizer::FromGguf(*file));
    }
  } else if (!FileExists(path)) {
    return NotFoundError(path, ": no such model file or folder");
  } else {
    return InvalidArgumentError(path, ": expected a .gguf file or a checkpoint folder");
  }
  if (lm->tokenizer_ && lm->tokenizer_->vocab_size() > lm->model_->vocab_size()) {
    return InvalidArgumentError(path, ": the tokenizer has ", lm->tokenizer_->vocab_size(),
                                " tokens but the model's vocabulary is ", lm->model_->vocab_size());
  }
  if (lm->tokenizer_) {
    SIGMA_ASSIGN_OR_RETURN(lm->chat_template_,
                           ChatTemplateOf(path, *lm->tokenizer_, &lm->chat_template_unusable_));
  }
  return lm;
}

StatusOr<std::vector<int32_t>> LanguageModel::Encode(std::string_view text) const {
  if (!tokenizer_) return FailedPreconditionError(path_, ": this model has no tokenizer; use token ids");
  return tokenizer_->Encode(text, /*add_special=*/true);
}

StatusOr<std::string> LanguageModel::RenderChat(std::span<const ChatMessage> messages) const {
  if (!chat_template_) return NoChatTemplateError(path_, chat_template_unusable_);
  return chat_template_->Render(messages, /*add_generation_prompt=*/true);
}

StatusOr<std::vector<int32_t>> LanguageModel::EncodeChat(
    std::span<const ChatMessage> messages) const {
  if (!tokenizer_) {
    return FailedPreconditionError(path_, ": this model has no tokenizer; use token ids");
  }
  SIGMA_ASSIGN_OR_RETURN(std::string text, RenderChat(messages));
  return tokenizer_->Encode(text, /*add_special=*/false);
}

std::string LanguageModel::TokenPiece(int32_t id) const {
  if (!tokenizer_) return std::string();
  return tokenizer_->Decode(std::span<const int32_t>(&id, 1), /*skip_special=*/false);
}

std::vector<int32_t> LanguageModel::StopTokens() const {
  std::vector<int32_t> ids;
  if (tokenizer_) ids = tokenizer_->eos_ids();
  for (int64_t id : model_->config().eos_token_ids) {
    const auto id32 = static_cast<int32_t>(id);
    if (std::find(ids.begin(), ids.end(), id32) == ids.end()) ids.push_back(id32);
  }
  return ids;
}

StatusOr<std::optional<ChatTemplate>> ChatTemplateOf(const std::string& path,
                                                     const Tokenizer& tokenizer,
                                                     std::string* unusable) {
  std::string text = tokenizer.chat_template();
  const std::filesystem::path p(path);
  std::string folder;  // where a tokenizer_config.json may be
  if (IsDirectory(path)) {
    folder = path;
  } else if (p.filename() == "tokenizer.json") {
    folder = p.has_parent_path() ? p.parent_path().string() : ".";
  }
  if (!folder.empty()) {
    SIGMA_ASSIGN_OR_RETURN(std::string config_template, FolderChatTemplate(folder));
    if (!config_template.empty()) text = config_template;
  }
  if (text.empty()) return std::optional<ChatTemplate>();
  const auto token_text = [&](int32_t id) {
    return id >= 0 ? std::string(tokenizer.TokenText(id)) : std::string();
  };
  StatusOr<ChatTemplate> tmpl = ChatTemplate::FromTemplateText(
      text, token_text(tokenizer.bos_id()),
      token_text(tokenizer.eos_ids().empty() ? -1 : tokenizer.eos_ids()[0]));
  // Jinja outside the interpreter's subset: plain prompts only.
  if (!tmpl.ok()) {
    if (unusable != nullptr) *unusable = std::string(tmpl.status().message());
    return std::optional<ChatTemplate>();
  }
  return std::optional<ChatTemplate>(*std::move(tmpl));
}

std::string DefaultModelPath() {
  if (const char* env = std::getenv("SIGMA_EVAL_MODEL"); env != nullptr && *env != '\0') return env;
  if (FileExists(kDefaultModel)) return kDefaultModel;
  return std::string(SIGMA_SOURCE_ROOT) + "/" + kDefaultModel;
}

}  // namespace sigma
