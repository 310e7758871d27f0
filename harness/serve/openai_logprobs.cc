#include "harness/serve/openai_logprobs.h"

#include "engine/base/json.h"

namespace sigma::harness {
namespace {

std::string Number(double v) {
  std::string out;
  AppendJsonDouble(v, &out);
  return out;
}

// A chat entry's "token", "logprob" and "bytes" members (without braces).
std::string ChatToken(const std::string& text, double logprob) {
  std::string out = "\"token\":";
  AppendJsonString(text, &out);
  out += StrCat(",\"logprob\":", Number(logprob), ",\"bytes\":[");
  for (size_t i = 0; i < text.size(); ++i) {
    out += StrCat(i == 0 ? "" : ",", static_cast<unsigned>(static_cast<unsigned char>(text[i])));
  }
  return out + "]";
}

}  // namespace

std::vector<LogprobEntry> LogprobEntries(const LanguageModel& lm,
                                         std::span<const TokenLogprob> tokens, size_t offset) {
  std::vector<LogprobEntry> entries;
  for (const TokenLogprob& token : tokens) {
    LogprobEntry& entry = entries.emplace_back();
    entry.text = lm.TokenPiece(token.token);
    entry.offset = offset;
    entry.logprob = token.logprob;
    for (const auto& [id, logprob] : token.top) entry.top.emplace_back(lm.TokenPiece(id), logprob);
    offset += entry.text.size();
  }
  return entries;
}

std::string CompletionLogprobsJson(std::span<const LogprobEntry> entries) {
  std::string texts, logprobs, tops, offsets;
  for (size_t i = 0; i < entries.size(); ++i) {
    const LogprobEntry& e = entries[i];
    const char* sep = i == 0 ? "" : ",";
    texts += sep;
    AppendJsonString(e.text, &texts);
    offsets += StrCat(sep, e.offset);
    logprobs += StrCat(sep, e.logprob ? Number(*e.logprob) : "null");
    tops += sep;
    if (!e.logprob) {
      tops += "null";
      continue;
    }
    tops += "{";
    for (size_t k = 0; k < e.top.size(); ++k) {
      if (k > 0) tops += ",";
      AppendJsonString(e.top[k].first, &tops);
      tops += StrCat(":", Number(e.top[k].second));
    }
    tops += "}";
  }
  return StrCat("{\"tokens\":[", texts, "],\"token_logprobs\":[", logprobs, "],\"top_logprobs\":[",
                tops, "],\"text_offset\":[", offsets, "]}");
}

std::string ChatLogprobsJson(std::span<const LogprobEntry> entries) {
  std::string out = "{\"content\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const LogprobEntry& e = entries[i];
    out += StrCat(i == 0 ? "{" : ",{", ChatToken(e.text, e.logprob.value_or(0)),
                  ",\"top_logprobs\":[");
    for (size_t k = 0; k < e.top.size(); ++k) {
      out += StrCat(k == 0 ? "{" : ",{", ChatToken(e.top[k].first, e.top[k].second), "}");
    }
    out += "]}";
  }
  return out + "],\"refusal\":null}";
}

}  // namespace sigma::harness
