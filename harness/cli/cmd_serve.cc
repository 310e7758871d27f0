// sigma-eval serve: the engine behind an OpenAI-compatible HTTP API (harness/serve/openai_server.h)
// on 127.0.0.1, so that `sigma-eval run --model http://127.0.0.1:PORT/v1` (or any client of that
// API) uses it. Requests that arrive together (a client with several in flight) are answered
// together, their generations decoded as one batch; no authentication: keep it on a trusted host.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

#include "engine/language_model.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "harness/http/http_server.h"
#include "harness/serve/openai_server.h"
#include "harness/store/results_store.h"

namespace sigma::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int) { g_stop = true; }

struct ServeFlags {
  EngineFlags engine;
  std::string host = "127.0.0.1";
  int64_t port = 8080;
  std::string name;
  int64_t batch = 4;
  double keep_alive_s = 15;
  bool quiet = false;
};

// How long the server waits, after a request, for others to join its batch: a client's requests
// in flight are sent within a millisecond of each other; a lone request waits this much longer.
constexpr int kGatherMs = 2;

// The access log: a line on stderr for each request answered, with the time, the route, the
// status (or "stream" for an answer streamed), the answer's bytes, its batch's size and time.
void LogBatch(std::span<const harness::HttpRequest> requests,
              std::span<const harness::HttpResponse> responses, double ms) {
  const std::string now = store::NowUtc();
  for (size_t i = 0; i < requests.size(); ++i) {
    const harness::HttpRequest& r = requests[i];
    const bool streamed = r.stream != nullptr && r.stream->started();
    const std::string status = streamed ? "stream" : std::to_string(responses[i].status);
    std::fprintf(stderr, "%s %s %s %s %zu B, batch of %zu, %.1f ms\n", now.c_str(),
                 r.method.c_str(), r.path.c_str(), status.c_str(),
                 streamed ? size_t{0} : responses[i].body.size(), requests.size(), ms);
  }
}

Status Serve(const ServeFlags& f) {
  EngineFlags engine = f.engine;
  if (engine.model.empty()) engine.model = DefaultModelPath();
  if (f.port < 0 || f.port > 65535)
    return InvalidArgumentError("--port: ", f.port, " is not 0..65535");
  if (f.batch < 1 || f.batch > 64)
    return InvalidArgumentError("--batch: ", f.batch, " is not 1..64");
  if (!(f.keep_alive_s >= 0 && f.keep_alive_s <= 3600))
    return InvalidArgumentError("--keep-alive: ", f.keep_alive_s, " is not 0..3600 seconds");
  harness::HttpServerLimits limits;
  limits.keep_alive_ms = static_cast<int>(f.keep_alive_s * 1000);
  SIGMA_ASSIGN_OR_RETURN(EngineOptions options, engine.ToOptions());
  options.max_sequences = static_cast<int>(f.batch);
  // The address first: a host or port it cannot have fails before the model loads.
  SIGMA_ASSIGN_OR_RETURN(auto server,
                         harness::HttpServer::Listen(f.host, static_cast<int>(f.port), limits));
  SIGMA_ASSIGN_OR_RETURN(auto lm, LanguageModel::Open(engine.model, options));
  const std::string name =
      f.name.empty() ? std::filesystem::path(engine.model).filename().string() : f.name;
  SIGMA_ASSIGN_OR_RETURN(auto api, harness::OpenAiServer::Create(std::move(lm), name));
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  // One line on stdout, flushed, that a script (or a test) waits for to learn the port.
  std::printf("serving %s at http://%s:%d/v1\n", name.c_str(), f.host.c_str(), server->port());
  std::fflush(stdout);
  SIGMA_RETURN_IF_ERROR(server->ServeBatches(
      [&](std::span<const harness::HttpRequest> requests) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<harness::HttpResponse> responses = api->HandleBatch(requests);
        const std::chrono::duration<double, std::milli> took =
            std::chrono::steady_clock::now() - start;
        if (!f.quiet) LogBatch(requests, responses, took.count());
        return responses;
      },
      static_cast<size_t>(f.batch), kGatherMs, g_stop));
  std::fprintf(stderr, "sigma-eval serve: stopped\n");
  return Status::Ok();
}

}  // namespace

int RunServe(const Args& args) {
  ServeFlags f;
  Flags flags("serve", "sigma-eval serve [--model PATH] [--port N] [flags]",
              "Serves a model through an OpenAI-compatible API: GET /v1/models, POST\n"
              "/v1/completions (text or token-id prompts, one or a list; generation, or scoring\n"
              "a prompt with echo and logprobs, max_tokens 0 or 1, as lm-eval's\n"
              "local-completions asks) and POST /v1/chat/completions; logprobs of generated\n"
              "tokens in both; \"stream\": true answers a generation as server-sent events.\n"
              "Prints the address when it listens; Ctrl-C stops it. Requests that arrive\n"
              "together are answered together (their generations decoded as one batch); a\n"
              "connection stays open for the client's next request (--keep-alive). No\n"
              "authentication: it listens on 127.0.0.1 unless --host says otherwise. Without\n"
              "--model: the embedded default.");
  f.engine.Register(flags);
  flags.String("host", &f.host, "IPv4 address to listen on");
  flags.Int("port", &f.port, "TCP port; 0 = any free one (the printed address names it)");
  flags.String("name", &f.name, "the model id the API reports (default: the model's file name)");
  flags.Int("batch", &f.batch, "requests answered together at most (= the engine's decode batch)");
  flags.Double("keep-alive", &f.keep_alive_s,
               "seconds a connection stays open, idle, for the client's next request; 0 = close "
               "after every answer");
  flags.Bool("quiet", &f.quiet,
             "no access log (by default a line on stderr for each request answered: time, "
             "route, status, bytes, batch size, milliseconds)");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (Status s = Serve(f); !s.ok()) return ReportError("serve", s);
  return kExitOk;
}

}  // namespace sigma::cli
