#include "harness/serve/openai_server.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>
#include <utility>

#include "engine/base/json.h"
#include "harness/backends/request_tokens.h"
#include "harness/serve/openai_logprobs.h"
#include "harness/serve/openai_stream.h"

namespace sigma::harness {
namespace {

// What a generation request asks for, from either route.
struct GenerationParams {
  int64_t max_tokens = 16;
  SamplingParams sampling;
  std::vector<std::string> stop;
  LogitAdjustments adjust;  // penalties here; the bias from ReadLogitBias
};

// presence_penalty and frequency_penalty (OpenAI's, -2..2), repetition_penalty (vLLM's, 0..10,
// above 0).
Status ReadPenalties(JsonFields& f, LogitAdjustments* adjust) {
  for (auto [key, value] : {std::pair{"presence_penalty", &adjust->presence_penalty},
                            std::pair{"frequency_penalty", &adjust->frequency_penalty}}) {
    double v = 0;
    SIGMA_RETURN_IF_ERROR(f.OptionalDouble(key, &v));
    if (!(v >= -2 && v <= 2)) return InvalidArgumentError(key, ": must be in -2..2");
    *value = static_cast<float>(v);
  }
  double repetition = 1;
  SIGMA_RETURN_IF_ERROR(f.OptionalDouble("repetition_penalty", &repetition));
  if (!(repetition > 0 && repetition <= 10)) {
    return InvalidArgumentError("repetition_penalty: must be above 0 and at most 10");
  }
  adjust->repetition_penalty = static_cast<float>(repetition);
  return Status::Ok();
}

// OpenAI's defaults: temperature 1 and top_p 1; top_k (not OpenAI's; vLLM's) 0 = all. Where the
// request has no `max_tokens_key`, p->max_tokens keeps the caller's default.
Status ReadGenerationParams(JsonFields& f, const char* max_tokens_key, GenerationParams* p) {
  p->sampling.temperature = 1.0;
  SIGMA_RETURN_IF_ERROR(f.OptionalInt(max_tokens_key, &p->max_tokens));
  if (p->max_tokens < 0) return InvalidArgumentError(max_tokens_key, ": must be >= 0");
  SIGMA_RETURN_IF_ERROR(f.OptionalDouble("temperature", &p->sampling.temperature));
  SIGMA_RETURN_IF_ERROR(f.OptionalDouble("top_p", &p->sampling.top_p));
  int64_t top_k = 0;
  SIGMA_RETURN_IF_ERROR(f.OptionalInt("top_k", &top_k));
  if (top_k < -1 || top_k > (int64_t{1} << 30)) return InvalidArgumentError("top_k: out of range");
  p->sampling.top_k = top_k < 0 ? 0 : static_cast<int>(top_k);  // vLLM's -1: all
  int64_t seed = 0;
  SIGMA_RETURN_IF_ERROR(f.OptionalInt("seed", &seed));
  p->sampling.seed = static_cast<uint64_t>(seed);
  SIGMA_RETURN_IF_ERROR(ReadPenalties(f, &p->adjust));
  if (const rapidjson::Value* stop = f.Find("stop"); stop != nullptr && stop->IsString()) {
    p->stop.emplace_back(stop->GetString(), stop->GetStringLength());
  } else if (stop != nullptr && !stop->IsNull()) {
    if (!stop->IsArray()) return f.TypeError("stop", "a string or an array of strings", *stop);
    for (const rapidjson::Value& s : stop->GetArray()) {
      if (!s.IsString()) return f.TypeError("stop", "an array of strings", s);
      p->stop.emplace_back(s.GetString(), s.GetStringLength());
    }
  }
  return p->sampling.Validate();
}

// "stream" and "stream_options": {"include_usage": bool}.
Status ReadStreaming(JsonFields& f, bool* stream, bool* include_usage) {
  SIGMA_RETURN_IF_ERROR(f.OptionalBool("stream", stream));
  const rapidjson::Value* options = f.Find("stream_options");
  if (options == nullptr || options->IsNull()) return Status::Ok();
  if (!options->IsObject()) return f.TypeError("stream_options", "an object", *options);
  JsonFields o(*options, "stream_options");
  o.Ignore({"continuous_usage_stats"});
  return o.OptionalBool("include_usage", include_usage);
}

constexpr size_t kMaxPrompts = 1024;

// "n": choices a prompt, 1..kMaxChoices, and at most kMaxPrompts choices in all.
constexpr int64_t kMaxChoices = 128;
Status ReadChoices(JsonFields& f, size_t prompts, int64_t* n) {
  SIGMA_RETURN_IF_ERROR(f.OptionalInt("n", n));
  if (*n < 1 || *n > kMaxChoices) return InvalidArgumentError("n: must be in 1..", kMaxChoices);
  if (prompts * static_cast<size_t>(*n) > kMaxPrompts) {
    return InvalidArgumentError("n: ", prompts, " prompts of ", *n, " choices each, more than ",
                                kMaxPrompts, " choices");
  }
  return Status::Ok();
}

// "logit_bias": {"TOKEN_ID": bias in -100..100, ...} into *bias (empty where absent or null).
Status ReadLogitBias(JsonFields& f, int64_t vocab, std::vector<std::pair<int32_t, float>>* bias) {
  const rapidjson::Value* value = f.Find("logit_bias");
  if (value == nullptr || value->IsNull()) return Status::Ok();
  if (!value->IsObject()) return f.TypeError("logit_bias", "an object", *value);
  for (const auto& member : value->GetObject()) {
    const std::string_view key(member.name.GetString(), member.name.GetStringLength());
    int64_t id = 0;
    const bool digits =
        !key.empty() && key.size() <= 10 &&
        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) id = std::stoll(std::string(key));
    if (!digits || id >= vocab) {
      return InvalidArgumentError("logit_bias: key \"", key,
                                  "\" is not a token id of the vocabulary (0..", vocab - 1, ")");
    }
    if (!member.value.IsNumber() || member.value.GetDouble() < -100 ||
        member.value.GetDouble() > 100) {
      return InvalidArgumentError("logit_bias: the bias of token ", id,
                                  " must be a number in -100..100");
    }
    bias->emplace_back(static_cast<int32_t>(id), static_cast<float>(member.value.GetDouble()));
  }
  return Status::Ok();
}

// Refuses what would change the output and is not implemented, rather than ignoring it.
Status RefuseUnsupported(JsonFields& f) {
  int64_t best_of = 1;
  SIGMA_RETURN_IF_ERROR(f.OptionalInt("best_of", &best_of));
  if (best_of != 1) return UnimplementedError("best_of: only 1 is supported");
  std::string suffix;
  SIGMA_RETURN_IF_ERROR(f.OptionalString("suffix", &suffix));
  if (!suffix.empty()) return UnimplementedError("suffix: not supported");
  return Status::Ok();
}

HttpResponse BadRequest(const Status& s) {
  // The message without the status code's name: it is the API's error text.
  return HttpErrorResponse(400, s.message());
}

// Why a completions request that scores its prompt (echo with logprobs, or max_tokens 0) cannot
// be answered, or "" where it can.
std::string ScoringRefusal(const GenerationParams& params, int64_t n, bool stream) {
  if (n > 1) return "n: offered for generations, not for scoring";
  if (!params.adjust.none()) {
    return "logit_bias and penalties: offered for generations, not for scoring";
  }
  if (stream) {
    return "stream: offered for generations, not for scoring (echo with logprobs, or max_tokens "
           "0)";
  }
  if (params.max_tokens > 1 || (params.max_tokens == 1 && params.sampling.temperature != 0)) {
    return "logprobs with echo: offered for the prompt and one greedy token (max_tokens 0 or 1, "
           "temperature 0); without echo, for any generation";
  }
  return "";
}

// One prompt of a completions request: text, or token ids.
struct PromptValue {
  bool is_text = false;
  std::string text;
  std::vector<int32_t> ids;
};

StatusOr<std::vector<int32_t>> ReadIds(const rapidjson::Value& list, int64_t vocab) {
  std::vector<int32_t> ids;
  for (const rapidjson::Value& v : list.GetArray()) {
    if (!v.IsInt()) return InvalidArgumentError("prompt: token ids must be integers");
    if (v.GetInt() < 0 || v.GetInt() >= vocab) {
      return InvalidArgumentError("prompt: token id ", v.GetInt(), " is outside the vocabulary");
    }
    ids.push_back(v.GetInt());
  }
  if (ids.empty()) return InvalidArgumentError("prompt: an empty list of token ids");
  return ids;
}

// OpenAI's prompt forms: a string, token ids, or a list of strings or of token-id lists (one
// choice each).
StatusOr<std::vector<PromptValue>> ReadPrompts(const rapidjson::Value* prompt, int64_t vocab) {
  constexpr const char* kForms =
      "prompt: expected a string, token ids, or a list of strings or of token-id lists";
  std::vector<PromptValue> out;
  if (prompt != nullptr && prompt->IsString()) {
    out.push_back({true, std::string(prompt->GetString(), prompt->GetStringLength()), {}});
    return out;
  }
  if (prompt == nullptr || !prompt->IsArray() || prompt->Empty()) {
    return InvalidArgumentError(kForms);
  }
  if ((*prompt)[0].IsInt()) {  // one prompt as token ids
    SIGMA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ReadIds(*prompt, vocab));
    out.push_back({false, "", std::move(ids)});
    return out;
  }
  if (prompt->Size() > kMaxPrompts) {
    return InvalidArgumentError("prompt: ", prompt->Size(), " prompts, more than ", kMaxPrompts,
                                " in one request");
  }
  for (const rapidjson::Value& item : prompt->GetArray()) {
    if (item.IsString()) {
      out.push_back({true, std::string(item.GetString(), item.GetStringLength()), {}});
    } else if (item.IsArray()) {
      SIGMA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, ReadIds(item, vocab));
      out.push_back({false, "", std::move(ids)});
    } else {
      return InvalidArgumentError(kForms);
    }
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<OpenAiServer>> OpenAiServer::Create(std::unique_ptr<LanguageModel> lm,
                                                             std::string name) {
  std::unique_ptr<OpenAiServer> server(new OpenAiServer());
  SIGMA_ASSIGN_OR_RETURN(server->backend_, EngineBackend::Create(std::move(lm), {}));
  server->name_ = std::move(name);
  return server;
}

HttpResponse OpenAiServer::Handle(const HttpRequest& request) {
  return HandleBatch({&request, 1})[0];
}

std::vector<HttpResponse> OpenAiServer::HandleBatch(std::span<const HttpRequest> requests) {
  std::vector<HttpResponse> answers(requests.size());
  std::vector<Prepared> prepared;
  for (const HttpRequest& request : requests) prepared.push_back(Prepare(request));
  std::vector<bool> answered(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (const HttpResponse* answer = std::get_if<HttpResponse>(&prepared[i])) {
      answers[i] = *answer;
      answered[i] = true;
    }
  }
  // The generations with request i's sampling, i the first unanswered, run together.
  for (size_t i = 0; i < requests.size(); ++i) {
    if (answered[i]) continue;
    const SamplingParams& sampling = std::get<Generation>(prepared[i]).sampling;
    const auto same = [&](const SamplingParams& other) {  // a greedy draw has no use for a seed
      return other.temperature == sampling.temperature && other.top_k == sampling.top_k &&
             other.top_p == sampling.top_p &&
             (sampling.temperature == 0 || other.seed == sampling.seed);
    };
    std::vector<size_t> group;
    std::vector<size_t> first_item;  // per member of the group: its first item
    std::vector<BackendItem> items;
    std::vector<std::unique_ptr<StreamedAnswer>> streamed;  // per member; null: answered whole
    for (size_t j = i; j < requests.size(); ++j) {
      if (answered[j] || !same(std::get<Generation>(prepared[j]).sampling)) continue;
      const Generation& generation = std::get<Generation>(prepared[j]);
      group.push_back(j);
      first_item.push_back(items.size());
      for (const Prompt& prompt : generation.prompts) {
        BackendItem& item = items.emplace_back();
        item.request = &prompt.request;
        item.prompt_tokens = prompt.tokens;
        item.top_logprobs = prompt.top_logprobs;
        item.adjust = prompt.adjust;
      }
      streamed.emplace_back();
      if (generation.stream && requests[j].stream != nullptr) {
        const Prompt& prompt = generation.prompts[0];
        streamed.back() = std::make_unique<StreamedAnswer>(
            requests[j].stream,
            Head(generation.chat ? "chat.completion.chunk" : "text_completion",
                 generation.chat ? "chatcmpl-" : "cmpl-"),
            generation.chat, generation.include_usage, prompt.echo_prefix,
            prompt.top_logprobs >= 0 ? &backend_->language_model() : nullptr);
        items.back().on_text = [answer = streamed.back().get()](
                                   std::string_view piece, std::span<const TokenLogprob> tokens) {
          return answer->Text(piece, tokens);
        };
      }
    }
    Status s = backend_->SetSampling(sampling);
    if (s.ok()) s = backend_->Run(items);
    for (size_t k = 0; k < group.size(); ++k) {
      const Generation& generation = std::get<Generation>(prepared[group[k]]);
      const std::span<const BackendItem> own(items.data() + first_item[k],
                                             generation.prompts.size());
      if (streamed[k] != nullptr) {
        answers[group[k]] = streamed[k]->Finish(own[0], s);
      } else {
        answers[group[k]] =
            s.ok() ? Answer(generation, own) : HttpErrorResponse(500, s.ToString(), "server_error");
      }
      answered[group[k]] = true;
    }
  }
  return answers;
}

void OpenAiServer::AddChoices(Prompt prompt, int64_t n, Generation* generation) {
  for (int64_t k = 0; k < n; ++k) {
    generation->prompts.push_back(prompt);
    generation->prompts.back().request.repeat = static_cast<int>(k);
  }
}

OpenAiServer::Prepared OpenAiServer::Prepare(const HttpRequest& request) {
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (request.path == "/health" || request.path == "/v1/models") {
    if (!get) return HttpErrorResponse(405, StrCat(request.path, " takes GET"));
    if (request.path == "/health") {
      return HttpResponse{200, "application/json", "{\"status\":\"ok\"}"};
    }
    return Models();
  }
  const bool completions = request.path == "/v1/completions";
  const bool chat = request.path == "/v1/chat/completions";
  if (!completions && !chat) {
    return HttpErrorResponse(404, StrCat("no route ", request.path), "not_found_error");
  }
  if (!post) return HttpErrorResponse(405, StrCat(request.path, " takes POST"));
  StatusOr<std::unique_ptr<rapidjson::Document>> body = ParseJson(request.body, "request body");
  if (!body.ok()) return BadRequest(body.status());
  if (!(*body)->IsObject()) return HttpErrorResponse(400, "request body: expected a JSON object");
  return completions ? Completions(**body) : ChatCompletions(**body);
}

HttpResponse OpenAiServer::Answer(const Generation& generation,
                                  std::span<const BackendItem> items) {
  for (const BackendItem& item : items) {
    if (!item.response.error.empty()) return HttpErrorResponse(400, item.response.error);
  }
  std::string out =
      generation.chat ? Head("chat.completion", "chatcmpl-") : Head("text_completion", "cmpl-");
  out += ",\"choices\":[";
  RequestTiming total;
  const LanguageModel& lm = backend_->language_model();
  for (size_t i = 0; i < items.size(); ++i) {
    const tasks::Response& response = items[i].response;
    const Prompt& prompt = generation.prompts[i];
    std::string logprobs = "null";
    if (prompt.top_logprobs >= 0) {
      const std::vector<LogprobEntry> entries =
          LogprobEntries(lm, items[i].token_logprobs, prompt.echo_prefix.size());
      logprobs = generation.chat ? ChatLogprobsJson(entries) : CompletionLogprobsJson(entries);
    }
    out += StrCat(i == 0 ? "" : ",", "{\"index\":", i);
    if (generation.chat) {
      out += ",\"message\":{\"role\":\"assistant\",\"content\":" + JsonQuote(response.text) + "}";
    } else {
      out += ",\"text\":" + JsonQuote(prompt.echo_prefix + response.text);
    }
    out += ",\"logprobs\":" + logprobs;
    out += StrCat(",\"finish_reason\":\"", FinishReason(response.stop_reason),
                  "\",\"sigma_stop_reason\":\"", response.stop_reason, "\"}");
    RequestTiming timing = items[i].timing;
    if (prompt.request.repeat > 0) {  // a prompt's tokens count once, however many its choices
      timing.prompt_tokens = 0;
      timing.reused_tokens = 0;
    }
    AddTiming(timing, &total);
  }
  out += "]";
  AppendUsageAndTiming(total, &out);
  return {200, "application/json", out};
}

HttpResponse OpenAiServer::Models() const {
  return {200, "application/json",
          StrCat("{\"object\":\"list\",\"data\":[{\"id\":", JsonQuote(name_),
                 ",\"object\":\"model\",\"created\":0,\"owned_by\":\"sigma-eval\"}]}")};
}

std::string OpenAiServer::Head(const char* object, const char* id_prefix) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return StrCat("{\"id\":\"", id_prefix, next_id_++, "\",\"object\":\"", object,
                "\",\"created\":", std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                ",\"model\":", JsonQuote(name_));
}

StatusOr<OpenAiServer::ScoredChoice> OpenAiServer::Scored(const std::vector<int32_t>& ids,
                                                          const std::string* text, bool echo,
                                                          int top_n, bool generate_one,
                                                          const std::vector<std::string>& stop,
                                                          size_t index) {
  const LanguageModel& lm = backend_->language_model();
  const auto start = std::chrono::steady_clock::now();
  std::vector<TokenLogprob> scores;
  RequestTiming timing;
  if (top_n >= 0 || generate_one) {
    SIGMA_ASSIGN_OR_RETURN(scores, backend_->ScoreTokens(ids, std::max(top_n, 0), generate_one,
                                                         &timing.reused_tokens));
  }
  // The one greedy token (generate_one). Its logprob entry is always there, last, as other
  // servers give it (clients such as lm-eval's local-completions drop the last entry as the
  // generated one), even where it ends the text: a stop token adds nothing to the text and a stop
  // string cuts what it adds.
  std::string piece;  // the token's text
  std::string kept;   // what the choice's text holds of it
  std::string stop_reason = "max_tokens";
  if (generate_one) {
    const int32_t next = scores.back().top[0].first;
    piece = lm.TokenPiece(next);
    kept = piece;
    const std::vector<int32_t> stop_ids = lm.StopTokens();
    if (std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end()) {
      kept.clear();
      stop_reason = "stop_token";
    } else {
      for (const std::string& s : stop) {
        const size_t at = s.empty() ? std::string::npos : kept.find(s);
        if (at == std::string::npos) continue;
        kept.resize(at);
        stop_reason = "stop_string";
      }
    }
  }
  // The logprobs of the tokens the text holds: the prompt's where echoed, then the generated one.
  const size_t n = ids.size();
  const size_t end = n + (generate_one ? 1 : 0);
  std::string echoed;
  std::vector<LogprobEntry> entries;
  for (size_t i = echo ? 0 : n; top_n >= 0 && i < end; ++i) {
    LogprobEntry& entry = entries.emplace_back();
    entry.text = i < n ? lm.TokenPiece(ids[i]) : piece;
    entry.offset = echoed.size();
    echoed += i < n ? entry.text : kept;
    if (i == 0) continue;  // nothing predicts the first token
    entry.logprob = scores[i].logprob;
    const size_t top = std::min(scores[i].top.size(), static_cast<size_t>(top_n));
    for (size_t k = 0; k < top; ++k) {
      entry.top.emplace_back(lm.TokenPiece(scores[i].top[k].first), scores[i].top[k].second);
    }
  }
  timing.prompt_tokens = static_cast<int64_t>(n);
  timing.new_tokens = generate_one ? 1 : 0;
  timing.prefill_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string out = StrCat("{\"index\":", index, ",\"text\":");
  if (top_n < 0) {  // no offsets to agree with: the prompt as given
    echoed = echo ? (text != nullptr ? *text : lm.tokenizer()->Decode(ids, false)) : "";
    echoed += kept;
  }
  AppendJsonString(echoed, &out);
  out += ",\"logprobs\":";
  out += top_n < 0 ? "null" : CompletionLogprobsJson(entries);
  out += StrCat(",\"finish_reason\":\"", FinishReason(stop_reason), "\",\"sigma_stop_reason\":\"",
                stop_reason, "\"}");
  return ScoredChoice{std::move(out), timing};
}

OpenAiServer::Prepared OpenAiServer::Completions(const rapidjson::Value& body) {
  JsonFields f(body, "request");
  f.Ignore({"model", "user"});
  if (Status s = RefuseUnsupported(f); !s.ok()) return BadRequest(s);
  bool stream = false, include_usage = false;
  if (Status s = ReadStreaming(f, &stream, &include_usage); !s.ok()) return BadRequest(s);
  GenerationParams params;
  if (Status s = ReadGenerationParams(f, "max_tokens", &params); !s.ok()) return BadRequest(s);
  bool echo = false;
  if (Status s = f.OptionalBool("echo", &echo); !s.ok()) return BadRequest(s);
  int64_t top_n = -1;  // absent: no logprobs
  if (f.Has("logprobs")) {
    if (Status s = f.OptionalInt("logprobs", &top_n); !s.ok()) return BadRequest(s);
    if (top_n < 0 || top_n > 20) return HttpErrorResponse(400, "logprobs: must be in 0..20");
  }
  const LanguageModel& lm = backend_->language_model();
  StatusOr<std::vector<PromptValue>> prompts =
      ReadPrompts(f.Find("prompt"), lm.model().vocab_size());
  if (!prompts.ok()) return BadRequest(prompts.status());
  int64_t n = 1;
  if (Status s = ReadChoices(f, prompts->size(), &n); !s.ok()) return BadRequest(s);
  if (Status s = ReadLogitBias(f, lm.model().vocab_size(), &params.adjust.bias); !s.ok()) {
    return BadRequest(s);
  }
  // Scoring (lm-eval's log-likelihoods over this API: echo, logprobs, max_tokens 1 or 0).
  if (params.max_tokens == 0 || (top_n >= 0 && echo)) {
    const std::string refusal = ScoringRefusal(params, n, stream);
    if (!refusal.empty()) return HttpErrorResponse(400, refusal);
    std::string out = Head("text_completion", "cmpl-") + ",\"choices\":[";
    RequestTiming total;
    for (size_t i = 0; i < prompts->size(); ++i) {
      PromptValue& p = (*prompts)[i];
      if (p.is_text) p.ids = EncodeText(*lm.tokenizer(), p.text, /*add_special=*/true);
      StatusOr<ScoredChoice> choice =
          Scored(p.ids, p.is_text ? &p.text : nullptr, echo, static_cast<int>(top_n),
                 params.max_tokens == 1, params.stop, i);
      if (!choice.ok()) return BadRequest(choice.status());
      out += StrCat(i == 0 ? "" : ",", choice->json);
      AddTiming(choice->timing, &total);
    }
    out += "]";
    AppendUsageAndTiming(total, &out);
    return HttpResponse{200, "application/json", out};
  }
  if (stream && (prompts->size() > 1 || n > 1)) {
    return HttpErrorResponse(400, "stream: one prompt and one choice (n 1) a streamed request");
  }
  Generation generation;
  generation.sampling = params.sampling;
  generation.stream = stream;
  generation.include_usage = include_usage;
  for (PromptValue& p : *prompts) {
    Prompt prompt;
    prompt.request.type = tasks::RequestType::kGenerateUntil;
    prompt.request.context = p.is_text ? p.text : lm.tokenizer()->Decode(p.ids, false);
    prompt.request.stop = params.stop;
    prompt.request.max_tokens = params.max_tokens;
    prompt.tokens = std::move(p.ids);
    prompt.top_logprobs = static_cast<int>(top_n);
    prompt.adjust = params.adjust;
    if (echo) prompt.echo_prefix = prompt.request.context;
    AddChoices(std::move(prompt), n, &generation);
  }
  return generation;
}

OpenAiServer::Prepared OpenAiServer::ChatCompletions(const rapidjson::Value& body) {
  JsonFields f(body, "request");
  f.Ignore({"model", "user"});
  if (Status s = RefuseUnsupported(f); !s.ok()) return BadRequest(s);
  bool stream = false, include_usage = false;
  if (Status s = ReadStreaming(f, &stream, &include_usage); !s.ok()) return BadRequest(s);
  bool logprobs = false;
  if (Status s = f.OptionalBool("logprobs", &logprobs); !s.ok()) return BadRequest(s);
  int64_t top_logprobs = 0;
  if (f.Has("top_logprobs")) {
    if (Status s = f.OptionalInt("top_logprobs", &top_logprobs); !s.ok()) return BadRequest(s);
    if (!logprobs) return HttpErrorResponse(400, "top_logprobs: needs \"logprobs\": true");
    if (top_logprobs < 0 || top_logprobs > 20) {
      return HttpErrorResponse(400, "top_logprobs: must be in 0..20");
    }
  }
  GenerationParams params;
  params.max_tokens = kDefaultMaxNewTokens;  // OpenAI's: what the context leaves
  const char* max_key = f.Has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (Status s = ReadGenerationParams(f, max_key, &params); !s.ok()) return BadRequest(s);
  f.Ignore({"max_tokens", "max_completion_tokens"});
  tasks::Request req;
  req.type = tasks::RequestType::kGenerateUntil;
  const rapidjson::Value* messages = f.Find("messages");
  if (messages == nullptr || !messages->IsArray() || messages->Empty()) {
    return HttpErrorResponse(400, "messages: expected a non-empty array");
  }
  for (const rapidjson::Value& m : messages->GetArray()) {
    if (!m.IsObject() || !m.HasMember("role") || !m["role"].IsString() || !m.HasMember("content") ||
        !m["content"].IsString()) {
      return HttpErrorResponse(400, "messages: each needs a string role and a string content");
    }
    req.chat.push_back({{m["role"].GetString(), m["role"].GetStringLength()},
                        {m["content"].GetString(), m["content"].GetStringLength()}});
  }
  req.stop = params.stop;
  req.max_tokens = params.max_tokens;
  int64_t n = 1;
  if (Status s = ReadChoices(f, 1, &n); !s.ok()) return BadRequest(s);
  if (Status s =
          ReadLogitBias(f, backend_->language_model().model().vocab_size(), &params.adjust.bias);
      !s.ok()) {
    return BadRequest(s);
  }
  if (stream && n > 1) {
    return HttpErrorResponse(400, "stream: one choice (n 1) a streamed request");
  }
  Generation generation;
  AddChoices(Prompt{std::move(req),
                    {},
                    "",
                    logprobs ? static_cast<int>(top_logprobs) : -1,
                    std::move(params.adjust)},
             n, &generation);
  generation.sampling = params.sampling;
  generation.chat = true;
  generation.stream = stream;
  generation.include_usage = include_usage;
  return generation;
}

}  // namespace sigma::harness
