// A generation's answer streamed as it is made ("stream": true), in the OpenAI API's format:
// server-sent events, each "data: {chunk}\n\n", then "data: [DONE]\n\n".
//   completions: {"id","object":"text_completion","created","model","choices":[{"index":0,
//                 "text":PIECE,"logprobs":null,"finish_reason":null}]}
//   chat:        {"id","object":"chat.completion.chunk",...,"choices":[{"index":0,
//                 "delta":{"content":PIECE},"logprobs":null,"finish_reason":null}]}, the first
//                 chunk's delta {"role":"assistant","content":""}
// With logprobs asked for, a chunk's "logprobs" holds its tokens' entries in the form of the whole
// answer's (openai_logprobs.h; completions' offsets count from the text's start), each token in
// the chunk where its text starts, any left in the last.
// The last chunk has an empty piece, "finish_reason" and "sigma_stop_reason"; with
// "stream_options": {"include_usage": true} a chunk with no choices and the usage (and
// sigma_timing) follows it. Every chunk has the answer's id. The pieces concatenate to what the
// same request answers unstreamed. A request that fails before its first piece is answered with
// the usual error response; a failure after it is an event {"error":{"message","type"}} that ends
// the stream.
// Also what streamed and whole answers share: the finish reason and the usage members.
// Thread safety: one per request, used by the thread that generates it.
#ifndef SIGMA_HARNESS_SERVE_OPENAI_STREAM_H_
#define SIGMA_HARNESS_SERVE_OPENAI_STREAM_H_

#include <span>
#include <string>
#include <string_view>

#include "engine/language_model.h"
#include "harness/backends/backend.h"
#include "harness/http/http_message.h"

namespace sigma::harness {

// OpenAI's finish_reason for a generation that ended for `stop_reason`: "length" where the token
// limit or the context cut it off, else "stop".
std::string FinishReason(const std::string& stop_reason);

// ,"usage":{...},"sigma_timing":{...}} : an answer's last members and its closing brace.
void AppendUsageAndTiming(const RequestTiming& timing, std::string* out);

// Adds one choice's timing to an answer's `total` of several: token counts and times summed, the
// time to the first token the first choice's.
void AddTiming(const RequestTiming& timing, RequestTiming* total);

class StreamedAnswer {
 public:
  // `head`: the chunks' first members, `{"id":...,"object":...,"created":...,"model":...` (no
  // closing brace); `prefix`: text streamed before the generation's (a completion's echo);
  // `logprobs_of`: where set, the model whose tokens' logprobs the chunks carry.
  StreamedAnswer(HttpStream* stream, std::string head, bool chat, bool include_usage,
                 std::string prefix, const LanguageModel* logprobs_of = nullptr);

  // One piece of the text and the logprob entries of the tokens starting in it (BackendItem::
  // on_text); false once the client is gone.
  bool Text(std::string_view piece, std::span<const TokenLogprob> tokens = {});

  // Ends the answer for `item` (its response and timing filled in by the backend), or with
  // `failure` where the backend failed. Where nothing was streamed yet and the request failed,
  // returns the error response to send instead; otherwise the stream is complete and the
  // returned response is not sent.
  HttpResponse Finish(const BackendItem& item, const Status& failure);

 private:
  bool Event(std::string_view json);
  bool Begin();

  HttpStream* stream_;
  std::string head_;
  bool chat_;
  bool include_usage_;
  std::string prefix_;
  const LanguageModel* logprobs_of_;
  size_t offset_;     // where the next logprob entry's text starts (completions)
  bool open_ = true;  // the client still reads
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_SERVE_OPENAI_STREAM_H_
