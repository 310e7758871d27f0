#include "aimicius/common/text.h"

#include <algorithm>

#include <rapidjson/error/en.h>

#include "engine/base/file.h"
#include "engine/base/json.h"

namespace sigma::aimicius {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A fence line: up to 3 spaces, then 3+ backticks or tildes. Returns the fence run length (0 when
// not a fence) and sets *info to the rest of the line.
size_t FenceRun(std::string_view line, char* fence_char, std::string_view* info) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return 0;
  const char c = line[i];
  size_t run = 0;
  while (i + run < line.size() && line[i + run] == c) ++run;
  if (run < 3) return 0;
  *fence_char = c;
  *info = Trim(line.substr(i + run));
  return run;
}

std::string InfoLang(std::string_view info) {
  size_t end = 0;
  while (end < info.size() && !IsSpace(info[end]) && info[end] != '{') ++end;
  return ToLowerAscii(info.substr(0, end));
}

// kJsonParseFlags (engine/base/json.h) without UTF-8 validation, plus what models write into JSON
// by habit: trailing commas and comments.
constexpr unsigned kLenientFlags = rapidjson::kParseIterativeFlag |
                                   rapidjson::kParseTrailingCommasFlag |
                                   rapidjson::kParseCommentsFlag;

struct Span {
  size_t begin;
  size_t end;  // one past the closing bracket
};

// Balanced spans starting with `open` at nesting depth 0 or 1 (counting both bracket kinds),
// string-aware inside brackets. One linear pass; stops after `max_spans`.
std::vector<Span> BalancedSpans(std::string_view text, char open, size_t max_spans) {
  std::vector<Span> spans;
  std::vector<std::pair<char, size_t>> stack;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && spans.size() < max_spans; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"' && !stack.empty()) {
      in_string = true;
    } else if (c == '{' || c == '[') {
      stack.emplace_back(c, i);
    } else if (c == '}' || c == ']') {
      const char want = c == '}' ? '{' : '[';
      if (stack.empty()) continue;
      if (stack.back().first != want) {  // mismatched: the bracket structure is prose; reset
        stack.clear();
        continue;
      }
      const size_t begin = stack.back().second;
      stack.pop_back();
      if (want == open && stack.size() <= 1) spans.push_back({begin, i + 1});
    }
  }
  std::stable_sort(spans.begin(), spans.end(),
                   [](const Span& a, const Span& b) { return a.begin < b.begin; });
  return spans;
}

bool HasKind(const rapidjson::Value& value, char kind) {
  return kind == '{' ? value.IsObject() : value.IsArray();
}

}  // namespace

std::string_view ClipModelOutput(std::string_view text) {
  return text.size() > kMaxScoredBytes ? text.substr(0, kMaxScoredBytes) : text;
}

std::string_view Trim(std::string_view text) {
  size_t b = 0;
  size_t e = text.size();
  while (b < e && IsSpace(text[b])) ++b;
  while (e > b && IsSpace(text[e - 1])) --e;
  return text.substr(b, e - b);
}

std::string ToLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> SplitWhitespace(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !IsSpace(text[j])) ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  for (std::string_view piece : SplitWhitespace(text)) {
    if (!out.empty()) out.push_back(' ');
    out.append(piece);
  }
  return out;
}

std::vector<CodeBlock> ExtractCodeBlocks(std::string_view text, size_t max_blocks) {
  std::vector<CodeBlock> blocks;
  text = ClipModelOutput(text);
  size_t pos = 0;
  bool open = false;
  char fence_char = 0;
  size_t fence_len = 0;
  CodeBlock current;
  while (pos < text.size() && blocks.size() < max_blocks) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    char c = 0;
    std::string_view info;
    const size_t run = FenceRun(line, &c, &info);
    if (!open) {
      if (run == 0) continue;
      open = true;
      fence_char = c;
      fence_len = run;
      current = CodeBlock{InfoLang(info), "", false};
    } else if (run >= fence_len && c == fence_char && info.empty()) {
      current.terminated = true;
      blocks.push_back(std::move(current));
      open = false;
    } else {
      current.body.append(line);
      current.body.push_back('\n');
    }
  }
  if (open && blocks.size() < max_blocks) blocks.push_back(std::move(current));
  return blocks;
}

const CodeBlock* PickCodeBlock(const std::vector<CodeBlock>& blocks,
                               const std::vector<std::string_view>& langs) {
  for (const CodeBlock& b : blocks) {
    if (std::find(langs.begin(), langs.end(), b.lang) != langs.end()) return &b;
  }
  for (const CodeBlock& b : blocks) {
    if (b.lang.empty()) return &b;
  }
  return nullptr;
}

StatusOr<std::unique_ptr<rapidjson::Document>> ParseLenientJson(std::string_view text) {
  text = Trim(text);
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse<kLenientFlags>(text.data(), text.size());
  if (doc->HasParseError()) {
    return InvalidArgumentError("invalid JSON at byte ", doc->GetErrorOffset(), ": ",
                                rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return doc;
}

StatusOr<std::unique_ptr<rapidjson::Document>> ExtractJson(std::string_view text, char kind) {
  text = ClipModelOutput(text);
  for (const CodeBlock& block : ExtractCodeBlocks(text, 16)) {
    if (!block.lang.empty() && block.lang != "json" && block.lang != "jsonc") continue;
    auto doc = ParseLenientJson(block.body);
    if (doc.ok() && HasKind(**doc, kind)) return doc;
  }
  for (const Span& span : BalancedSpans(text, kind, 32)) {
    auto doc = ParseLenientJson(text.substr(span.begin, span.end - span.begin));
    if (doc.ok() && HasKind(**doc, kind)) return doc;
  }
  return NotFoundError("no JSON ", kind == '{' ? "object" : "array", " found in the output");
}

StatusOr<std::vector<std::unique_ptr<rapidjson::Document>>> ParseJsonlObjects(
    std::string_view text, std::string_view source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::unique_ptr<rapidjson::Document>> out;
  size_t pos = 0;
  int64_t line_number = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_number;
    if (line.empty()) continue;
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse<kJsonParseFlags>(line.data(), line.size());
    if (doc->HasParseError()) {
      return InvalidArgumentError(source, ":", line_number, ": invalid JSON at column ",
                                  doc->GetErrorOffset() + 1, ": ",
                                  rapidjson::GetParseError_En(doc->GetParseError()));
    }
    if (!doc->IsObject()) {
      return InvalidArgumentError(source, ":", line_number, ": expected a JSON object");
    }
    out.push_back(std::move(doc));
  }
  return out;
}

StatusOr<std::vector<std::unique_ptr<rapidjson::Document>>> LoadJsonlObjects(
    const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.size() > (size_t{256} << 20)) {
    return ResourceExhaustedError(path, ": ", text.size(), " bytes is over the 256 MiB limit");
  }
  return ParseJsonlObjects(text, path);
}

}  // namespace sigma::aimicius
