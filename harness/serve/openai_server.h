// OpenAiServer: the embedded engine behind the OpenAI API's completions and chat completions, as
// `sigma-eval serve` offers it (over harness/http/http_server.h). What for: the harness's HTTP
// backend (harness/backends/openai_backend.h) scores a model behind any OpenAI-compatible server
// (vLLM, llama.cpp's server, a hosted API); with this one it scores the embedded engine through
// HTTP, so that path is tested end to end against the engine's own results.
//
// Routes:
//   GET  /v1/models            {"object":"list","data":[{"id":NAME,"object":"model",...}]}
//   GET  /health               {"status":"ok"}
//   POST /v1/completions       prompt: a string or token ids, or a list of either (one
//                              choice each, "index" in order; not streamed);
//                              max_tokens (default 16), temperature (default 1), top_p, top_k,
//                              seed, stop (a string or strings), echo, logprobs (0..20), stream,
//                              n (choices a prompt; choice k draws with seed mixed with k),
//                              logit_bias, presence / frequency / repetition_penalty
//   POST /v1/chat/completions  messages [{role, content}] through the model's chat template;
//                              max_tokens or max_completion_tokens (default 256), sampling,
//                              stop and stream as above, logprobs (true) and top_logprobs (0..20)
// A text prompt is tokenized as the harness's engine backend does (BOS where the tokenizer adds
// it), token ids are read as given, and both generate through EngineBackend, so a generation
// equals `sigma-eval run`'s on the same model.
// Scoring, as lm-eval's local-completions asks for it (echo, logprobs N, max_tokens 1,
// temperature 0; or max_tokens 0): per token of the text (the prompt's where echoed, then the
// greedy next token's, whose entry is there, last, also where it ends the text: a stop token or
// a stop string), its text, its offset in the text, its log-probability given the tokens before
// it (null for the first) and the N most likely tokens there. lm-eval 0.4.13's local-completions
// against this server gets the embedded harness's log-likelihoods and generations to the bit
// (tests/oracle/lm_eval_serve_check.py).
// A generation with logprobs (completions without echo; chat's logprobs: true) lists each token
// of its answer (openai_logprobs.h): its log-probability under the model where it was drawn (the
// log-softmax of the logits, before temperature, top-k or top-p, as vLLM's default reports) and
// the N most likely tokens there. A stop token is not listed; a token a stop string cut is while
// its text starts before the cut. Offsets count the choice's text's bytes. Streamed, each chunk
// carries the entries of its tokens (openai_stream.h).
// A token that is part of a UTF-8 character has its bytes as \u00XX escapes in "tokens" and
// "top_logprobs" (JSON strings hold text, not bytes), the same way in both, so a client that
// compares them (is_greedy) compares like with like; offsets count the echoed text's bytes.
// "stream": true answers a generation as server-sent events while it is made, with
// "stream_options": {"include_usage": true} a usage chunk at the end (openai_stream.h); through
// the request's HttpStream, so Handle without a connection answers it whole. Scoring is not
// streamed (400), nor are several prompts or choices (n > 1).
// logit_bias ({"TOKEN_ID": -100..100}), presence_penalty and frequency_penalty (-2..2) and
// vLLM's repetition_penalty (0..10) change the logits before each draw of a generation as
// LogitAdjustments (harness/backends/backend.h) says; the logprobs stay the model's.
// Parameters that would change the output and are not implemented (best_of > 1, suffix) are
// refused with 400 rather than ignored; others are ignored.
// Beyond OpenAI's fields every choice carries "sigma_stop_reason" (stop_token, stop_string,
// max_tokens, context_full) and every answer "sigma_timing" (prefill_ms, ttft_ms, decode_ms).
// Errors: 400 for a request this model cannot answer (with the reason), 404 / 405 for routes,
// 500 when the engine fails.
// Thread safety: not thread-safe (HttpServer calls Handle from one thread).
#ifndef SIGMA_HARNESS_SERVE_OPENAI_SERVER_H_
#define SIGMA_HARNESS_SERVE_OPENAI_SERVER_H_

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/language_model.h"
#include "harness/backends/engine_backend.h"
#include "harness/http/http_server.h"

namespace sigma::harness {

class OpenAiServer {
 public:
  // `name`: the model id the API reports (and accepts; other ids are answered all the same).
  static StatusOr<std::unique_ptr<OpenAiServer>> Create(std::unique_ptr<LanguageModel> lm,
                                                        std::string name);

  HttpResponse Handle(const HttpRequest& request);

  // Requests that arrived together (HttpServer::ServeBatches): their generations with the same
  // sampling parameters decode as one batch (up to the model's sequence slots, then as slots
  // free up), the rest are answered one by one. Each answer is what Handle gives it alone.
  std::vector<HttpResponse> HandleBatch(std::span<const HttpRequest> requests);

 private:
  // One prompt of a generation request: the request the backend runs, with its token ids where
  // the prompt came as ids, and (completions with echo) the prompt to put before the text.
  struct Prompt {
    tasks::Request request;
    std::vector<int32_t> tokens;
    std::string echo_prefix;
    int top_logprobs = -1;  // 0..20: the answer's tokens' logprobs, with this many likeliest
    LogitAdjustments adjust;  // logit_bias and penalties
  };
  // A generation a request asks for, parsed, waiting to run with the batch's others: one choice
  // a prompt (completions take several; chat one).
  struct Generation {
    std::vector<Prompt> prompts;
    SamplingParams sampling;
    bool chat = false;
    bool stream = false;  // answered as server-sent events (openai_stream.h); one prompt
    bool include_usage = false;
  };
  using Prepared = std::variant<HttpResponse, Generation>;
  // Appends `n` choices of `prompt` (choice k with request.repeat k, so each draws with a seed of
  // its own: RequestSeed).
  static void AddChoices(Prompt prompt, int64_t n, Generation* generation);
  // A scored prompt's choice (a JSON object) and what it took.
  struct ScoredChoice {
    std::string json;
    RequestTiming timing;
  };

  OpenAiServer() = default;
  // A request's answer where it needs no generation (routes, errors, scoring), else its
  // generation.
  Prepared Prepare(const HttpRequest& request);
  HttpResponse Models() const;
  Prepared Completions(const rapidjson::Value& body);
  Prepared ChatCompletions(const rapidjson::Value& body);
  // The answer to `generation`, whose prompts the backend answered in `items` (in order).
  HttpResponse Answer(const Generation& generation, std::span<const BackendItem> items);
  // A completion choice answered by scoring: the prompt's tokens (`text` where it was given as
  // text) echoed or not, their and the generated token's logprobs (top_n >= 0), and with
  // `generate_one` the greedy next token, cut by `stop`. INVALID_ARGUMENT where it cannot be.
  StatusOr<ScoredChoice> Scored(const std::vector<int32_t>& ids, const std::string* text, bool echo,
                                int top_n, bool generate_one, const std::vector<std::string>& stop,
                                size_t index);
  // An answer's first members: "id" (id_prefix and a counter), "object", "created", "model".
  std::string Head(const char* object, const char* id_prefix);

  std::unique_ptr<EngineBackend> backend_;
  std::string name_;
  int64_t next_id_ = 1;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_SERVE_OPENAI_SERVER_H_
