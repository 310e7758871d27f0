// OpenAiBackend: the runner's requests answered by a server with OpenAI's API (`--model
// http://HOST:PORT/v1` or https://...): vLLM, llama.cpp's server, a hosted API, or `sigma-eval
// serve` (harness/serve/openai_server.h).
//
// generate_until: POST /completions with the prompt text, or /chat/completions with the
// messages where the task sends chat (the server applies the template). At most 4 stop strings
// go to the server (OpenAI's limit); the text is cut at the first of all of them here too.
// loglikelihood / multiple_choice: /completions with echo, logprobs 1, max_tokens 1 and
// temperature 0 (lm-eval's local-completions method; the generated token is not scored), one
// request per continuation. With a tokenizer (`tokenizer_path`:
// the model's GGUF, tokenizer.json or folder) the prompt is the token ids EncodePairs makes, as
// the engine backend scores them, and a chat context is rendered by the tokenizer's template;
// without one it is the context's and the continuation's text, and the continuation is the
// tokens the echo places past the context (text_offset). is_greedy: each continuation token was
// the most likely one of top_logprobs. loglikelihood_rolling: the engine backend's windows of
// `max_context` tokens (needs the tokenizer).
//
// Servers differ in what they offer for log-likelihoods. `sigma-eval serve` scores as the engine
// backend does (tests/e2e/serve_test.cc). llama-cpp-python's server (0.3.36, tried here) answers
// generations, but takes no token-id prompts (so no --tokenizer) and its echoed logprobs are one
// position off (its issue #1983); llama.cpp's own server returns no prompt logprobs (its issue
// 27174); vLLM echoes them.
// Failures: a request the server refuses (4xx), or a 500 that persists, fails that request (its
// sample stores the server's message); connection failures, timeouts, 408, 429, 502, 503 and 504
// are retried with exponential backoff (Retry-After where given) up to `max_attempts` tries, then
// stop the run (UNAVAILABLE; --resume continues it). The API key goes in the Authorization header
// and nowhere else (not in the fingerprint, the database or messages).
// A Run's requests go `concurrency` at a time, each on a connection of its own; every result
// depends on its request alone (a sample's seed is its own), not on which went first.
// Thread safety: not thread-safe (one runner drives it; Run's workers share nothing mutable).
#ifndef SIGMA_HARNESS_BACKENDS_OPENAI_BACKEND_H_
#define SIGMA_HARNESS_BACKENDS_OPENAI_BACKEND_H_

#include <rapidjson/document.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/backends/backend.h"
#include "harness/http/http_client.h"

namespace sigma::harness {

struct OpenAiBackendOptions {
  std::string base_url;        // "http://127.0.0.1:8080/v1"; routes are appended to it
  std::string model;           // the API's model id; "": the first of GET /models
  std::string api_key;         // sent as a bearer token where set
  std::string tokenizer_path;  // "": text prompts, no rolling log-likelihoods
  SamplingParams sampling;     // temperature 0 = greedy; the seed is mixed with each repeat
  int64_t max_context = 4096;  // the rolling windows' length
  double timeout_s = 600;      // one request, all of it
  int max_attempts = 6;
  double retry_base_s = 1;  // the k-th retry waits retry_base_s * 2^k, at most 60 s
  int concurrency = 1;      // requests of a Run in flight at once (one connection each)
};

// Whether `model` names an OpenAI-compatible server rather than a file.
bool IsOpenAiUrl(const std::string& model);

class OpenAiBackend : public Backend {
 public:
  static StatusOr<std::unique_ptr<OpenAiBackend>> Create(OpenAiBackendOptions options);

  // BASE_URL/models/MODEL: the API's own address of the model (so reports, which shorten a model
  // to what follows its last '/', show the model id).
  std::string Describe() const override;
  std::string FingerprintJson() const override { return fingerprint_; }
  Status Run(std::span<BackendItem> items) override;

 private:
  OpenAiBackend() = default;
  // POSTs `body` to base_url + route with retries. UNAVAILABLE: stop the run; other errors fail
  // the request.
  StatusOr<std::unique_ptr<rapidjson::Document>> Post(HttpClient& client, const char* route,
                                                      const std::string& body) const;
  // One item on `client`: its response, or UNAVAILABLE (stop the run).
  Status Answer(HttpClient& client, BackendItem& item) const;
  Status Generate(HttpClient& client, BackendItem& item) const;
  Status Loglikelihood(HttpClient& client, BackendItem& item) const;
  Status Rolling(HttpClient& client, BackendItem& item) const;
  // One echo-scored prompt (a JSON value: a string or ids): the answer.
  StatusOr<std::unique_ptr<rapidjson::Document>> Score(HttpClient& client,
                                                       const std::string& prompt_json,
                                                       BackendItem& item) const;

  OpenAiBackendOptions options_;
  std::vector<std::unique_ptr<HttpClient>> clients_;  // one per request in flight
  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<ChatTemplate> chat_template_;
  std::string
      chat_template_unusable_;  // ChatTemplateOf's why, where it has one that does not render
  std::string fingerprint_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_OPENAI_BACKEND_H_
