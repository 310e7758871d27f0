#include "engine/language_model.h"

#include <cstdlib>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/gguf/gguf_file.h"

namespace sigma {
namespace {

constexpr char kDefaultModel[] = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

}  // namespace

StatusOr<std::unique_ptr<LanguageModel>> LanguageModel::Open(const std::string& path,
                                                             const EngineOptions& options) {
  std::unique_ptr<LanguageModel> lm(new LanguageModel());
  lm->path_ = path;
  std::string template_text;
  if (IsDirectory(path)) {
    SIGMA_ASSIGN_OR_RETURN(lm->model_, Model::Load(path, options));
    if (FileExists(path + "/tokenizer.json")) {
      SIGMA_ASSIGN_OR_RETURN(lm->tokenizer_, Tokenizer::FromTokenizerJson(path + "/tokenizer.json"));
      SIGMA_ASSIGN_OR_RETURN(template_text, FolderChatTemplate(path));
    }
  } else if (EndsWith(path, ".gguf")) {
    SIGMA_ASSIGN_OR_RETURN(lm->model_, Model::Load(path, options));
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::Open(path));
    SIGMA_ASSIGN_OR_RETURN(lm->tokenizer_, Tokenizer::FromGguf(*file));
    template_text = lm->tokenizer_->chat_template();
  } else if (!FileExists(path)) {
    return NotFoundError(path, ": no such model file or folder");
  } else {
    return InvalidArgumentError(path, ": expected a .gguf file or a checkpoint folder");
  }
  if (lm->tokenizer_ && lm->tokenizer_->vocab_size() > lm->model_->vocab_size()) {
    return InvalidArgumentError(path, ": the tokenizer has ", lm->tokenizer_->vocab_size(),
                                " tokens but the model's vocabulary is ", lm->model_->vocab_size());
  }
  if (!template_text.empty()) {
    StatusOr<ChatTemplate> tmpl = ChatTemplate::FromTemplateText(template_text);
    if (tmpl.ok()) lm->chat_template_ = *tmpl;  // unknown families: plain prompts only
  }
  return lm;
}

StatusOr<std::vector<int32_t>> LanguageModel::Encode(std::string_view text) const {
  if (!tokenizer_) return FailedPreconditionError(path_, ": this model has no tokenizer; use token ids");
  return tokenizer_->Encode(text, /*add_special=*/true);
}

StatusOr<std::vector<int32_t>> LanguageModel::EncodeChat(std::span<const ChatMessage> messages) const {
  if (!tokenizer_) return FailedPreconditionError(path_, ": this model has no tokenizer; use token ids");
  if (!chat_template_) {
    return FailedPreconditionError(path_, ": this model has no chat template this engine renders");
  }
  return tokenizer_->Encode(chat_template_->Render(messages, /*add_generation_prompt=*/true),
                            /*add_special=*/false);
}

std::string LanguageModel::TokenPiece(int32_t id) const {
  if (!tokenizer_) return std::string();
  return tokenizer_->Decode(std::span<const int32_t>(&id, 1), /*skip_special=*/false);
}

std::vector<int32_t> LanguageModel::StopTokens() const {
  if (tokenizer_ && !tokenizer_->eos_ids().empty()) return tokenizer_->eos_ids();
  std::vector<int32_t> ids;
  for (int64_t id : model_->config().eos_token_ids) ids.push_back(static_cast<int32_t>(id));
  return ids;
}

std::string DefaultModelPath() {
  if (const char* env = std::getenv("SIGMA_EVAL_MODEL"); env != nullptr && *env != '\0') return env;
  if (FileExists(kDefaultModel)) return kDefaultModel;
  return std::string(SIGMA_SOURCE_ROOT) + "/" + kDefaultModel;
}

}  // namespace sigma
