#include "harness/backends/openai_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "engine/language_model.h"
#include "harness/backends/openai_answers.h"
#include "harness/backends/request_tokens.h"
#include "tasks/py_str.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

constexpr size_t kMaxStopStrings = 4;  // OpenAI's limit; the rest are applied here

// Statuses worth another try: the server is busy, restarting, or behind a gateway that is.
bool RetryableStatus(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::string IdsJson(std::span<const int32_t> ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += StrCat(i == 0 ? "" : ",", ids[i]);
  return out + "]";
}

}  // namespace

bool IsOpenAiUrl(const std::string& model) {
  return model.rfind("http://", 0) == 0 || model.rfind("https://", 0) == 0;
}

StatusOr<std::unique_ptr<OpenAiBackend>> OpenAiBackend::Create(OpenAiBackendOptions options) {
  SIGMA_RETURN_IF_ERROR(options.sampling.Validate());
  if (!IsOpenAiUrl(options.base_url)) {
    return InvalidArgumentError(options.base_url, ": expected an http:// or https:// URL");
  }
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  if (options.max_attempts < 1 || options.timeout_s <= 0 || options.max_context < 1) {
    return InvalidArgumentError("OpenAI backend: attempts, timeout and context must be positive");
  }
  if (options.concurrency < 1 || options.concurrency > 256) {
    return InvalidArgumentError("OpenAI backend: ", options.concurrency,
                                " requests at once is not 1..256");
  }
  std::unique_ptr<OpenAiBackend> backend(new OpenAiBackend());
  for (int i = 0; i < options.concurrency; ++i) {
    SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create());
    backend->clients_.push_back(std::move(client));
  }
  std::string tokenizer_hash = "null";
  if (!options.tokenizer_path.empty()) {
    SIGMA_ASSIGN_OR_RETURN(backend->tokenizer_, Tokenizer::Open(options.tokenizer_path));
    SIGMA_ASSIGN_OR_RETURN(backend->chat_template_,
                           ChatTemplateOf(options.tokenizer_path, *backend->tokenizer_,
                                          &backend->chat_template_unusable_));
    // The tokenizer's file: a folder's tokenizer.json, else the file given.
    std::string file = options.tokenizer_path;
    if (IsDirectory(file)) file += "/tokenizer.json";
    if (FileExists(file)) {
      SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
      tokenizer_hash = JsonQuote(hash);
    }
  }
  backend->options_ = std::move(options);
  OpenAiBackendOptions& o = backend->options_;
  if (o.model.empty()) {  // the server's first model
    SIGMA_ASSIGN_OR_RETURN(
        HttpReply reply,
        backend->clients_[0]->Send("GET", o.base_url + "/models", "", {}, o.timeout_s));
    StatusOr<std::unique_ptr<rapidjson::Document>> doc = ParseJson(reply.body, "GET /models");
    if (reply.status != 200 || !doc.ok() || !(*doc)->IsObject() || !(*doc)->HasMember("data") ||
        !(**doc)["data"].IsArray() || (**doc)["data"].Empty() || !(**doc)["data"][0].IsObject() ||
        !(**doc)["data"][0].HasMember("id") || !(**doc)["data"][0]["id"].IsString()) {
      return UnavailableError("GET ", o.base_url, "/models named no model (HTTP ", reply.status,
                              "); name one with --api-model");
    }
    o.model = (**doc)["data"][0]["id"].GetString();
  }
  // What determines the outputs; not the server's address, so a run stopped by a server that went
  // away is resumed from one started again elsewhere (serve --port 0) serving the same model.
  backend->fingerprint_ =
      StrCat("{\"backend\":\"openai\",\"model\":", JsonQuote(o.model),
             ",\"tokenizer_sha256\":", tokenizer_hash, ",\"max_context\":", o.max_context,
             ",\"temperature\":", o.sampling.temperature, ",\"top_k\":", o.sampling.top_k,
             ",\"top_p\":", o.sampling.top_p, ",\"seed\":", o.sampling.seed, "}");
  return backend;
}

std::string OpenAiBackend::Describe() const {
  return StrCat(options_.base_url, "/models/", options_.model);
}

StatusOr<std::unique_ptr<rapidjson::Document>> OpenAiBackend::Post(HttpClient& client,
                                                                   const char* route,
                                                                   const std::string& body) const {
  const std::string url = options_.base_url + route;
  std::vector<std::string> headers;
  if (!options_.api_key.empty()) headers.push_back("Authorization: Bearer " + options_.api_key);
  Status last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    double wait_s = options_.retry_base_s * std::pow(2.0, attempt);
    StatusOr<HttpReply> reply = client.Send("POST", url, body, headers, options_.timeout_s);
    if (!reply.ok()) {
      last = reply.status();
    } else if (reply->status == 200) {
      StatusOr<std::unique_ptr<rapidjson::Document>> doc = ParseJson(reply->body, url);
      if (!doc.ok())
        return DataLossError("the server's answer is not JSON: ", doc.status().message());
      return doc;
    } else if (!RetryableStatus(reply->status)) {
      return InvalidArgumentError("POST ", url, ": HTTP ", reply->status, ": ",
                                  ApiErrorMessage(reply->body));
    } else {
      last = Status(
          reply->status == 500 ? StatusCode::kInternal : StatusCode::kUnavailable,
          StrCat("POST ", url, ": HTTP ", reply->status, ": ", ApiErrorMessage(reply->body)));
      if (reply->retry_after_s >= 0) wait_s = reply->retry_after_s;
    }
    if (attempt + 1 < options_.max_attempts) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait_s, 60.0)));
    }
  }
  return Status(last.code(), StrCat(last.message(), " (", options_.max_attempts,
                                    options_.max_attempts == 1 ? " try)" : " tries)"));
}

Status OpenAiBackend::Run(std::span<BackendItem> items) {
  std::atomic<size_t> next{0};
  std::vector<Status> stops(clients_.size());
  const auto work = [&](size_t worker) {
    for (size_t i = next++; i < items.size(); i = next++) {
      Status s = Answer(*clients_[worker], items[i]);
      if (!s.ok()) {
        stops[worker] = std::move(s);
        next = items.size();  // the others finish the request in hand
      }
    }
  };
  const size_t workers = std::min(clients_.size(), items.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work, w);
  work(0);
  for (std::thread& t : threads) t.join();
  for (Status& s : stops) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status OpenAiBackend::Answer(HttpClient& client, BackendItem& item) const {
  const auto start = Clock::now();
  Status s;
  switch (item.request->type) {
    case tasks::RequestType::kGenerateUntil: s = Generate(client, item); break;
    case tasks::RequestType::kLoglikelihood:
    case tasks::RequestType::kMultipleChoice: s = Loglikelihood(client, item); break;
    case tasks::RequestType::kLoglikelihoodRolling: s = Rolling(client, item); break;
  }
  item.timing.total_ms = MsSince(start);
  if (s.code() == StatusCode::kUnavailable) return s;  // the server is gone: stop the run
  if (!s.ok()) {
    item.response.loglikelihoods.clear();
    item.response.error = s.ToString();
  }
  return Status::Ok();
}

Status OpenAiBackend::Generate(HttpClient& client, BackendItem& item) const {
  const tasks::Request& req = *item.request;
  const int64_t max_tokens = req.max_tokens > 0 ? req.max_tokens : kDefaultMaxNewTokens;
  std::string body = StrCat("{\"model\":", JsonQuote(options_.model));
  if (req.chat.empty()) {
    body += ",\"prompt\":" + JsonQuote(req.context);
  } else {
    body += ",\"messages\":[";
    for (size_t i = 0; i < req.chat.size(); ++i) {
      body += StrCat(i == 0 ? "" : ",", "{\"role\":", JsonQuote(req.chat[i].role),
                     ",\"content\":", JsonQuote(req.chat[i].content), "}");
    }
    body += "]";
  }
  const SamplingParams& sp = options_.sampling;
  body += StrCat(",\"max_tokens\":", max_tokens, ",\"temperature\":", sp.temperature,
                 ",\"top_p\":", sp.top_p, sp.top_k > 0 ? StrCat(",\"top_k\":", sp.top_k) : "",
                 ",\"seed\":", RequestSeed(item, sp.seed) >> 1);  // a non-negative int64
  if (!req.stop.empty()) {
    body += ",\"stop\":[";
    for (size_t i = 0; i < std::min(req.stop.size(), kMaxStopStrings); ++i) {
      body += StrCat(i == 0 ? "" : ",", JsonQuote(req.stop[i]));
    }
    body += "]";
  }
  body += "}";
  SIGMA_ASSIGN_OR_RETURN(
      auto answer, Post(client, req.chat.empty() ? "/completions" : "/chat/completions", body));
  SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* choice, FirstChoice(*answer));
  SIGMA_ASSIGN_OR_RETURN(item.response.text, ChoiceText(*choice, !req.chat.empty()));
  item.response.stop_reason = ChoiceStopReason(*choice);
  // Every stop string, including those past the server's limit, ends the text.
  size_t cut = item.response.text.size();
  for (const std::string& stop : req.stop) {
    if (!stop.empty()) cut = std::min(cut, item.response.text.find(stop));
  }
  if (cut < item.response.text.size()) {
    item.response.text.resize(cut);
    item.response.stop_reason = "stop_string";
  }
  const RequestTiming t = AnswerTiming(*answer);
  item.timing.prompt_tokens = t.prompt_tokens;
  item.timing.reused_tokens = t.reused_tokens;
  item.timing.new_tokens = t.new_tokens;
  item.timing.prefill_ms = t.prefill_ms;
  item.timing.ttft_ms = t.ttft_ms;
  item.timing.decode_ms = t.decode_ms;
  return Status::Ok();
}

StatusOr<std::unique_ptr<rapidjson::Document>> OpenAiBackend::Score(HttpClient& client,
                                                                    const std::string& prompt_json,
                                                                    BackendItem& item) const {
  SIGMA_ASSIGN_OR_RETURN(
      auto answer,
      Post(client, "/completions",
           StrCat("{\"model\":", JsonQuote(options_.model), ",\"prompt\":", prompt_json,
                  ",\"max_tokens\":1,\"echo\":true,\"logprobs\":1,\"temperature\":0}")));
  const RequestTiming t = AnswerTiming(*answer);
  item.timing.prompt_tokens += t.prompt_tokens;
  item.timing.reused_tokens += t.reused_tokens;
  item.timing.prefill_ms += t.prefill_ms;
  return answer;
}

Status OpenAiBackend::Loglikelihood(HttpClient& client, BackendItem& item) const {
  const tasks::Request& req = *item.request;
  if (tokenizer_ == nullptr) {
    if (!req.chat.empty()) {
      return FailedPreconditionError(
          "a chat context is scored with the model's template: give "
          "--tokenizer");
    }
    // As lm-eval: the context's trailing whitespace is scored with the continuation (a " Paris"
    // token starts with the space).
    const std::string context(tasks::py::RStrip(req.context));
    for (const std::string& given : req.continuations) {
      const std::string continuation = req.context.substr(context.size()) + given;
      SIGMA_ASSIGN_OR_RETURN(auto answer, Score(client, JsonQuote(context + continuation), item));
      SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* choice, FirstChoice(*answer));
      SIGMA_ASSIGN_OR_RETURN(const auto span,
                             EchoedContinuation(*choice, context + continuation, context.size()));
      SIGMA_ASSIGN_OR_RETURN(tasks::LoglikelihoodResult result,
                             SumEchoLogprobs(*choice, span.first, span.second));
      item.response.loglikelihoods.push_back(result);
      item.timing.new_tokens += result.num_tokens;
    }
    return Status::Ok();
  }
  SIGMA_ASSIGN_OR_RETURN(
      PromptText context,
      RequestPromptText(req, chat_template_, options_.tokenizer_path, chat_template_unusable_));
  SIGMA_ASSIGN_OR_RETURN(
      std::vector<EncodedPair> pairs,
      EncodePairs(*tokenizer_, context.text, req.continuations, context.add_special));
  for (const EncodedPair& pair : pairs) {
    std::vector<int32_t> ids = pair.context;
    ids.insert(ids.end(), pair.continuation.begin(), pair.continuation.end());
    SIGMA_ASSIGN_OR_RETURN(auto answer, Score(client, IdsJson(ids), item));
    SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* choice, FirstChoice(*answer));
    SIGMA_ASSIGN_OR_RETURN(tasks::LoglikelihoodResult result,
                           SumEchoLogprobs(*choice, pair.context.size(), ids.size()));
    item.response.loglikelihoods.push_back(result);
    item.timing.new_tokens += result.num_tokens;
  }
  return Status::Ok();
}

Status OpenAiBackend::Rolling(HttpClient& client, BackendItem& item) const {
  if (tokenizer_ == nullptr) {
    return FailedPreconditionError(
        "loglikelihood_rolling needs the model's tokens: give "
        "--tokenizer");
  }
  const tasks::Request& req = *item.request;
  const std::string& text = RollingText(req);
  const int32_t prefix = PrefixToken(*tokenizer_);
  if (prefix < 0) {
    return FailedPreconditionError(
        "loglikelihood_rolling: the tokenizer has no BOS or EOS token "
        "to start from");
  }
  std::vector<int32_t> tokens = {prefix};
  const std::vector<int32_t> body = EncodeText(*tokenizer_, text, /*add_special=*/true);
  tokens.insert(tokens.end(), body.begin(), body.end());
  tasks::LoglikelihoodResult total;
  total.is_greedy = true;
  total.num_tokens = static_cast<int64_t>(body.size());
  for (const RollingWindow& w : RollingWindows(total.num_tokens, options_.max_context)) {
    // The window's tokens and the one after its last, whose logprob the echo gives.
    const std::span<const int32_t> sent(tokens.data() + w.begin,
                                        static_cast<size_t>(w.end + 1 - w.begin));
    SIGMA_ASSIGN_OR_RETURN(auto answer, Score(client, IdsJson(sent), item));
    SIGMA_ASSIGN_OR_RETURN(const rapidjson::Value* choice, FirstChoice(*answer));
    SIGMA_ASSIGN_OR_RETURN(
        tasks::LoglikelihoodResult part,
        SumEchoLogprobs(*choice, static_cast<size_t>(w.end + 1 - w.scored - w.begin), sent.size()));
    total.logprob += part.logprob;
    total.is_greedy = total.is_greedy && part.is_greedy;
  }
  item.response.loglikelihoods.push_back(total);
  return Status::Ok();
}

}  // namespace sigma::harness
