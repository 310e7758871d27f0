#include "harness/runner/prompt_preview.h"

#include <vector>

#include "engine/base/json.h"
#include "harness/backends/request_tokens.h"
#include "harness/runner/runner.h"
#include "reports/escape.h"

namespace sigma::harness {
namespace {

struct ContinuationPreview {
  std::string text;
  std::optional<int64_t> tokens;
};

// One request as the backend gets it, with what the tokenizer makes of it.
struct RequestPreview {
  tasks::Request request;
  std::optional<std::string> prompt;     // a chat request's rendering, where it has one
  std::optional<int64_t> prompt_tokens;  // the context's (or generation prompt's) tokens
  std::vector<ContinuationPreview> continuations;
  std::string error;  // why the backend would refuse it
};

RequestPreview Preview(tasks::Request request, const PreviewOptions& options) {
  RequestPreview preview;
  if (request.type != tasks::RequestType::kLoglikelihoodRolling) {
    for (const std::string& c : request.continuations) preview.continuations.push_back({c, {}});
  }
  StatusOr<PromptText> text = RequestPromptText(request, options.chat_template, options.model,
                                                options.chat_template_unusable);
  if (!request.chat.empty() && text.ok()) preview.prompt = text->text;
  if (!text.ok()) preview.error = text.status().message();
  const Tokenizer* tok = options.tokenizer;
  if (tok != nullptr && text.ok()) {
    switch (request.type) {
      case tasks::RequestType::kGenerateUntil:
        preview.prompt_tokens =
            static_cast<int64_t>(EncodeText(*tok, text->text, text->add_special).size());
        break;
      case tasks::RequestType::kLoglikelihood:
      case tasks::RequestType::kMultipleChoice: {
        StatusOr<std::vector<EncodedPair>> pairs =
            EncodePairs(*tok, text->text, request.continuations, text->add_special);
        if (!pairs.ok()) {
          preview.error = pairs.status().message();
          break;
        }
        if (!pairs->empty())
          preview.prompt_tokens = static_cast<int64_t>((*pairs)[0].context.size());
        for (size_t c = 0; c < pairs->size(); ++c) {
          preview.continuations[c].tokens = static_cast<int64_t>((*pairs)[c].continuation.size());
        }
        break;
      }
      case tasks::RequestType::kLoglikelihoodRolling:
        // The whole text is scored (after the prefix token), as EncodeText with BOS makes it.
        preview.prompt_tokens =
            static_cast<int64_t>(EncodeText(*tok, RollingText(request), true).size());
        break;
    }
  }
  preview.request = std::move(request);
  return preview;
}

StatusOr<std::vector<RequestPreview>> PreviewRequests(const tasks::EvalTask& task, size_t doc,
                                                      const PreviewOptions& options) {
  if (doc >= task.size()) {
    return OutOfRangeError(task.name(), ": no document ", doc, " (it has ", task.size(), ")");
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<tasks::Request> requests, task.BuildRequests(doc));
  ApplyMaxGenTokens(options.max_gen_tokens, requests);
  std::vector<RequestPreview> previews;
  for (tasks::Request& r : requests) previews.push_back(Preview(std::move(r), options));
  return previews;
}

std::string Quoted(std::string_view text) { return reports::TerminalEscape(JsonQuote(text)); }

void AppendTokens(std::optional<int64_t> tokens, std::string* out) {
  if (tokens) *out += StrCat(*tokens, *tokens == 1 ? " token" : " tokens");
}

// The text as it is, then, for what the model reads, where it ends (whitespace there matters:
// "Answer:" or "Answer: ").
void AppendBody(std::string_view text, bool show_end, std::string* out) {
  *out += reports::TerminalEscape(text);
  if (text.empty() || text.back() != '\n') *out += "\n";
  if (!show_end) return;
  size_t tail = text.size() > 16 ? text.size() - 16 : 0;
  while (tail > 0 && (static_cast<unsigned char>(text[tail]) & 0xC0) == 0x80) --tail;
  *out += StrCat("--- ends with ", tail > 0 ? "..." : "", Quoted(text.substr(tail)), "\n");
}

}  // namespace

StatusOr<std::string> PreviewText(const tasks::EvalTask& task, size_t doc,
                                  const PreviewOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<RequestPreview> previews, PreviewRequests(task, doc, options));
  std::string out = StrCat("=== ", task.name(), ": document ", doc, ", id ",
                           reports::TerminalEscape(task.DocId(doc)), " (", previews.size(),
                           previews.size() == 1 ? " request" : " requests", ") ===\n");
  for (size_t r = 0; r < previews.size(); ++r) {
    const RequestPreview& p = previews[r];
    const tasks::Request& req = p.request;
    const bool generate = req.type == tasks::RequestType::kGenerateUntil;
    const bool rolling = req.type == tasks::RequestType::kLoglikelihoodRolling;
    out += StrCat("--- request ", r + 1, ": ", tasks::RequestTypeName(req.type));
    if (!req.chat.empty()) out += " (chat)";
    if (req.repeat > 0) out += StrCat(", sample ", req.repeat + 1);
    if (p.prompt_tokens) {
      out += generate ? ", prompt " : rolling ? ", text " : ", context ";
      AppendTokens(p.prompt_tokens, &out);
    }
    if (generate) {
      out += StrCat(", at most ", req.max_tokens, " new tokens, stops at");
      if (req.stop.empty()) out += " none";
      for (size_t s = 0; s < req.stop.size(); ++s)
        out += StrCat(s == 0 ? " " : ", ", Quoted(req.stop[s]));
    }
    out += "\n";
    if (rolling) {
      AppendBody(RollingText(req), true, &out);
    } else if (req.chat.empty()) {
      AppendBody(req.context, true, &out);
    } else {
      for (const tasks::ChatMessage& m : req.chat) {
        out += StrCat("[", reports::TerminalEscape(m.role), "]\n");
        AppendBody(m.content, false, &out);
      }
      if (p.prompt) {
        out += "--- as the model reads it (its chat template)\n";
        AppendBody(*p.prompt, true, &out);
      }
    }
    if (!p.continuations.empty()) {
      out += StrCat("--- ", p.continuations.size(),
                    p.continuations.size() == 1 ? " continuation" : " continuations", "\n");
      for (const ContinuationPreview& c : p.continuations) {
        out += "  " + Quoted(c.text);
        if (c.tokens) {
          out += "  (";
          AppendTokens(c.tokens, &out);
          out += ")";
        }
        out += "\n";
      }
    }
    if (!p.error.empty()) out += StrCat("!!! the backend refuses it: ", p.error, "\n");
  }
  return out;
}

StatusOr<std::string> PreviewJson(const tasks::EvalTask& task, size_t doc,
                                  const PreviewOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<RequestPreview> previews, PreviewRequests(task, doc, options));
  std::string out =
      StrCat("{\"task\":", JsonQuote(task.name()), ",\"doc_id\":", JsonQuote(task.DocId(doc)),
             ",\"doc_index\":", doc, ",\"requests\":[");
  for (size_t r = 0; r < previews.size(); ++r) {
    const RequestPreview& p = previews[r];
    const tasks::Request& req = p.request;
    out += StrCat(r == 0 ? "" : ",", "{\"type\":", JsonQuote(tasks::RequestTypeName(req.type)));
    if (req.type == tasks::RequestType::kLoglikelihoodRolling) {
      out += ",\"text\":" + JsonQuote(RollingText(req));
    } else if (req.chat.empty()) {
      out += ",\"context\":" + JsonQuote(req.context);
    } else {
      out += ",\"chat\":[";
      for (size_t m = 0; m < req.chat.size(); ++m) {
        out += StrCat(m == 0 ? "" : ",", "{\"role\":", JsonQuote(req.chat[m].role),
                      ",\"content\":", JsonQuote(req.chat[m].content), "}");
      }
      out += "]";
    }
    if (p.prompt) out += ",\"prompt\":" + JsonQuote(*p.prompt);
    if (p.prompt_tokens) out += StrCat(",\"prompt_tokens\":", *p.prompt_tokens);
    out += ",\"continuations\":[";
    for (size_t c = 0; c < p.continuations.size(); ++c) {
      out += StrCat(c == 0 ? "" : ",", "{\"text\":", JsonQuote(p.continuations[c].text));
      if (p.continuations[c].tokens) out += StrCat(",\"tokens\":", *p.continuations[c].tokens);
      out += "}";
    }
    out += "],\"stop\":[";
    for (size_t s = 0; s < req.stop.size(); ++s)
      out += StrCat(s == 0 ? "" : ",", JsonQuote(req.stop[s]));
    out += StrCat("],\"max_tokens\":", req.max_tokens, ",\"repeat\":", req.repeat);
    if (!p.error.empty()) out += ",\"error\":" + JsonQuote(p.error);
    out += "}";
  }
  return out + "]}";
}

}  // namespace sigma::harness
