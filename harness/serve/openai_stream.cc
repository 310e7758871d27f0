#include "harness/serve/openai_stream.h"

#include "engine/base/json.h"
#include "harness/serve/openai_logprobs.h"

namespace sigma::harness {

std::string FinishReason(const std::string& stop_reason) {
  return stop_reason == "max_tokens" || stop_reason == "context_full" ? "length" : "stop";
}

void AppendUsageAndTiming(const RequestTiming& t, std::string* out) {
  *out += StrCat(",\"usage\":{\"prompt_tokens\":", t.prompt_tokens,
                 ",\"completion_tokens\":", t.new_tokens,
                 ",\"total_tokens\":", t.prompt_tokens + t.new_tokens,
                 "},\"sigma_timing\":{\"prefill_ms\":", t.prefill_ms, ",\"ttft_ms\":", t.ttft_ms,
                 ",\"decode_ms\":", t.decode_ms, ",\"reused_tokens\":", t.reused_tokens, "}}");
}

void AddTiming(const RequestTiming& t, RequestTiming* total) {
  if (total->prompt_tokens == 0 && total->new_tokens == 0) total->ttft_ms = t.ttft_ms;
  total->prompt_tokens += t.prompt_tokens;
  total->reused_tokens += t.reused_tokens;
  total->new_tokens += t.new_tokens;
  total->prefill_ms += t.prefill_ms;
  total->decode_ms += t.decode_ms;
}

StreamedAnswer::StreamedAnswer(HttpStream* stream, std::string head, bool chat, bool include_usage,
                               std::string prefix, const LanguageModel* logprobs_of)
    : stream_(stream),
      head_(std::move(head)),
      chat_(chat),
      include_usage_(include_usage),
      prefix_(std::move(prefix)),
      logprobs_of_(logprobs_of),
      offset_(prefix_.size()) {}

bool StreamedAnswer::Event(std::string_view json) {
  if (open_) open_ = stream_->Write(StrCat("data: ", json, "\n\n"));
  return open_;
}

namespace {

// A chunk's choices: its piece of text (or delta), its finish reason (JSON), `more` members and
// its logprobs (JSON).
std::string Choice(bool chat, std::string_view piece, std::string_view finish,
                   std::string_view more = "", std::string_view logprobs = "null") {
  std::string choice = "[{\"index\":0,";
  if (!chat) {
    choice += StrCat("\"text\":", JsonQuote(piece));
  } else if (finish.empty()) {
    choice += StrCat("\"delta\":{\"content\":", JsonQuote(piece), "}");
  } else {
    choice += "\"delta\":{}";
  }
  return StrCat(choice, ",\"logprobs\":", logprobs,
                ",\"finish_reason\":", finish.empty() ? "null" : finish, more, "}]");
}

}  // namespace

bool StreamedAnswer::Begin() {
  if (stream_->started()) return open_;
  open_ = stream_->Start(200, "text/event-stream");
  if (chat_) {
    Event(StrCat(head_, ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",",
                 "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}"));
  }
  if (!prefix_.empty()) Event(StrCat(head_, ",\"choices\":", Choice(chat_, prefix_, ""), "}"));
  return open_;
}

bool StreamedAnswer::Text(std::string_view piece, std::span<const TokenLogprob> tokens) {
  if (!Begin()) return false;
  if (piece.empty() && tokens.empty()) return true;
  std::string logprobs = "null";
  if (logprobs_of_ != nullptr) {
    const std::vector<LogprobEntry> entries = LogprobEntries(*logprobs_of_, tokens, offset_);
    for (const LogprobEntry& entry : entries) offset_ += entry.text.size();
    logprobs = chat_ ? ChatLogprobsJson(entries) : CompletionLogprobsJson(entries);
  }
  return Event(StrCat(head_, ",\"choices\":", Choice(chat_, piece, "", "", logprobs), "}"));
}

HttpResponse StreamedAnswer::Finish(const BackendItem& item, const Status& failure) {
  const std::string& error = item.response.error;
  const bool failed = !failure.ok() || !error.empty();
  if (failed && !stream_->started()) {
    return failure.ok() ? HttpErrorResponse(400, error)
                        : HttpErrorResponse(500, failure.ToString(), "server_error");
  }
  if (!Begin()) return {};
  if (failed) {
    Event(StrCat("{\"error\":{\"message\":", JsonQuote(failure.ok() ? error : failure.ToString()),
                 ",\"type\":", failure.ok() ? "\"invalid_request_error\"" : "\"server_error\"",
                 "}}"));
    return {};
  }
  const std::string& reason = item.response.stop_reason;
  // The stop reason beside OpenAI's finish reason, as in a whole answer.
  const std::string last = StrCat(head_, ",\"choices\":",
                                  Choice(chat_, "", JsonQuote(FinishReason(reason)),
                                         StrCat(",\"sigma_stop_reason\":", JsonQuote(reason))),
                                  "}");
  Event(last);
  if (include_usage_) {
    std::string usage = StrCat(head_, ",\"choices\":[]");
    AppendUsageAndTiming(item.timing, &usage);
    Event(usage);
  }
  if (open_) open_ = stream_->Write("data: [DONE]\n\n");
  return {};
}

}  // namespace sigma::harness
