#include "tasks/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace sigma::tasks {
namespace {

constexpr uint32_t kMatchLimit = 10'000'000;

std::string PcreMessage(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
struct ContextDeleter {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};

// Where the next search starts: after the match; after an empty match, one UTF-8 character on,
// so the loop always ends and never starts inside a character.
PCRE2_SIZE NextStart(std::string_view text, PCRE2_SIZE begin, PCRE2_SIZE end) {
  if (end > begin) return end;
  PCRE2_SIZE next = end + 1;
  while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
  return next;
}

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(std::unique_ptr<Code> code, std::string pattern, int capture_count)
    : code_(std::move(code)), pattern_(std::move(pattern)), capture_count_(capture_count) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

StatusOr<Regex> Regex::Compile(std::string_view pattern, std::string_view where,
                               bool ignore_case) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP;
  if (ignore_case) options |= PCRE2_CASELESS;
  pcre2_code* raw = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  options, &error_code, &error_offset, nullptr);
  if (raw == nullptr) {
    return InvalidArgumentError(where, ": invalid regex '", pattern, "' at offset ", error_offset,
                                ": ", PcreMessage(error_code));
  }
  auto code = std::make_unique<Code>();
  code->code = raw;
  uint32_t captures = 0;
  pcre2_pattern_info(raw, PCRE2_INFO_CAPTURECOUNT, &captures);
  return Regex(std::move(code), std::string(pattern), static_cast<int>(captures));
}

StatusOr<std::vector<std::vector<std::string>>> Regex::FindAll(std::string_view text) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(code_->code, nullptr));
  std::unique_ptr<pcre2_match_context, ContextDeleter> context(pcre2_match_context_create(nullptr));
  pcre2_set_match_limit(context.get(), kMatchLimit);
  std::vector<std::vector<std::string>> matches;
  PCRE2_SIZE start = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()),
                               text.size(), start, 0, data.get(), context.get());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return ResourceExhaustedError("regex '", pattern_, "': ", PcreMessage(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    std::vector<std::string>& groups = matches.emplace_back();
    for (int g = 0; g <= capture_count_; ++g) {
      if (g < rc && ovector[2 * g] != PCRE2_UNSET) {
        groups.emplace_back(text.substr(ovector[2 * g], ovector[2 * g + 1] - ovector[2 * g]));
      } else {
        groups.emplace_back();
      }
    }
    start = NextStart(text, ovector[0], ovector[1]);
  }
  return matches;
}

StatusOr<std::string> Regex::ReplaceAll(std::string_view text,
                                        std::string_view replacement) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(code_->code, nullptr));
  std::unique_ptr<pcre2_match_context, ContextDeleter> context(pcre2_match_context_create(nullptr));
  pcre2_set_match_limit(context.get(), kMatchLimit);
  std::string out;
  PCRE2_SIZE start = 0;
  PCRE2_SIZE copied = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()),
                               text.size(), start, 0, data.get(), context.get());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return ResourceExhaustedError("regex '", pattern_, "': ", PcreMessage(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    out.append(text.substr(copied, ovector[0] - copied));
    out.append(replacement);
    copied = ovector[1];
    start = NextStart(text, ovector[0], ovector[1]);
  }
  if (copied < text.size()) out.append(text.substr(copied));
  return out;
}

}  // namespace sigma::tasks
