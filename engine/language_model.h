// LanguageModel: a model on the chosen device (a ForwardModel: the CPU Model or a CudaModel, per
// EngineOptions::device) together with its tokenizer and chat template, opened from one path, as
// the harness and the text commands use it. Also LoadForwardModel (the model alone, no tokenizer)
// and where the embedded default model is found.
//
//   SIGMA_ASSIGN_OR_RETURN(auto lm, LanguageModel::Open(DefaultModelPath(), EngineOptions{}));
//   std::vector<int32_t> ids = lm->Encode("Hello");
//
// `path`: a .gguf file (weights, tokenizer and template from its metadata), or a checkpoint
// folder (config.json + safetensors, tokenizer.json; chat template from tokenizer_config.json).
// A folder without tokenizer.json still loads (tokenizer() is null): id-only use.
// Ownership: owns all three. Thread safety: as the model (one caller at a time).
#ifndef SIGMA_ENGINE_LANGUAGE_MODEL_H_
#define SIGMA_ENGINE_LANGUAGE_MODEL_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/forward_model.h"
#include "engine/model.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace sigma {

class LanguageModel {
 public:
  static StatusOr<std::unique_ptr<LanguageModel>> Open(const std::string& path,
                                                       const EngineOptions& options);

  ForwardModel& model() { return *model_; }
  const ForwardModel& model() const { return *model_; }
  const EngineOptions& options() const { return options_; }
  // The weight files the model was read from (for fingerprints), in the loader's order.
  const std::vector<std::string>& weight_files() const { return weight_files_; }
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  const std::optional<ChatTemplate>& chat_template() const { return chat_template_; }
  // Where the model has a chat template that does not render: why (ChatTemplateOf); else "".
  const std::string& chat_template_unusable() const { return chat_template_unusable_; }
  const std::string& path() const { return path_; }

  // Text -> ids with the tokenizer's BOS handling. FAILED_PRECONDITION without a tokenizer.
  StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;
  // The messages rendered by the chat template, with the generation prompt.
  StatusOr<std::string> RenderChat(std::span<const ChatMessage> messages) const;
  // RenderChat's text encoded without adding BOS again (the template carries it where the
  // family has one).
  StatusOr<std::vector<int32_t>> EncodeChat(std::span<const ChatMessage> messages) const;
  // Token text for streaming and stop strings (empty without a tokenizer).
  std::string TokenPiece(int32_t id) const;
  // Where generation stops: the tokenizer's end-of-sequence ids, then the config's others (a
  // folder's config.json and generation_config.json, a GGUF's eos and eot ids).
  std::vector<int32_t> StopTokens() const;

 private:
  LanguageModel() = default;
  std::string path_;
  EngineOptions options_;
  std::vector<std::string> weight_files_;
  std::unique_ptr<ForwardModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::string chat_template_unusable_;  // why the model's template does not render, if it has one
};

// The weights of `path` (a .gguf file or a checkpoint folder) on options.device: "cpu" -> Model
// (memory-mapped weights), "cuda" -> cuda::CudaModel (weights uploaded as f32 when the checkpoint
// stores f32, else bf16; KV cache bf16, so --kv-dtype must be auto or bf16; --threads ignored).
// Errors: INVALID_ARGUMENT for an unknown device, UNAVAILABLE when this build or machine
// has no usable CUDA device (see CheckDeviceAvailable), the loader's errors for the path.
// `weight_files`, when not null, receives the weight files read.
StatusOr<std::unique_ptr<ForwardModel>> LoadForwardModel(
    const std::string& path, const EngineOptions& options,
    std::vector<std::string>* weight_files = nullptr);

// The chat template a model at `path` (a checkpoint folder, its tokenizer.json or a .gguf file)
// ships: tokenizer_config.json's chat_template beside a folder's or file's tokenizer.json, else
// the tokenizer's own (GGUF metadata), with the tokenizer's BOS and EOS texts. nullopt where there
// is none or its Jinja is outside the interpreter's subset (engine/tokenizer/jinja/jinja.h), in
// which case `unusable`, where given, receives why; errors only for an unreadable config.
StatusOr<std::optional<ChatTemplate>> ChatTemplateOf(const std::string& path,
                                                     const Tokenizer& tokenizer,
                                                     std::string* unusable = nullptr);

// OK when `device` can run here: "cpu" always; "cuda" when the binary has the CUDA backend and a
// device is visible. Otherwise INVALID_ARGUMENT (unknown name) or UNAVAILABLE naming why,
// one line, starting "--device cuda: ".
Status CheckDeviceAvailable(const std::string& device);

// The embedded default model (fetched by scripts/setup.sh): $SIGMA_EVAL_MODEL when set, else
// models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf under the working folder, else
// under the source tree this binary was built from.
std::string DefaultModelPath();

}  // namespace sigma

#endif  // SIGMA_ENGINE_LANGUAGE_MODEL_H_
