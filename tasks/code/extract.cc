#include "tasks/code/extract.h"

#include <algorithm>
#include <array>

namespace sigma::tasks::code {
namespace {

std::string_view Clip(std::string_view text) {
  return text.size() > kMaxCodeBytes ? text.substr(0, kMaxCodeBytes) : text;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

std::string_view LTrim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && IsBlank(s[b])) ++b;
  return s.substr(b);
}

std::string_view Trim(std::string_view s) {
  s = LTrim(s);
  size_t e = s.size();
  while (e > 0 && (IsBlank(s[e - 1]) || s[e - 1] == '\n')) --e;
  return s.substr(0, e);
}

// Splits off the next line (without its '\n'); advances `pos` past it.
std::string_view NextLine(std::string_view text, size_t* pos) {
  const size_t start = *pos;
  size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  *pos = end < text.size() ? end + 1 : end;
  std::string_view line = text.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A fence line: a run of >= 3 backticks or tildes after optional indentation. Returns the run's
// length (0 = not a fence) and sets `ch` and `info`.
size_t FenceRun(std::string_view line, char* ch, std::string_view* info) {
  line = LTrim(line);
  if (line.size() < 3 || (line[0] != '`' && line[0] != '~')) return 0;
  size_t n = 0;
  while (n < line.size() && line[n] == line[0]) ++n;
  if (n < 3) return 0;
  *ch = line[0];
  *info = Trim(line.substr(n));
  // CommonMark: a backtick fence's info string may not hold a backtick ("```x```" is inline).
  if (*ch == '`' && info->find('`') != std::string_view::npos) return 0;
  return n;
}

std::string LangOf(std::string_view info) {
  size_t end = 0;
  while (end < info.size() && !IsBlank(info[end]) && info[end] != '{') ++end;
  std::string lang(info.substr(0, end));
  for (char& c : lang) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lang;
}

bool IsPythonLang(const std::string& lang) {
  return lang == "python" || lang == "py" || lang == "python3";
}

std::string CutDone(std::string_view text) {
  size_t done = text.find("[DONE]");
  if (done != std::string_view::npos) text = text.substr(0, done);
  return std::string(text);
}

}  // namespace

std::vector<FencedBlock> ExtractFencedBlocks(std::string_view text, size_t max_blocks) {
  text = Clip(text);
  std::vector<FencedBlock> blocks;
  size_t pos = 0;
  while (pos < text.size() && blocks.size() < max_blocks) {
    char ch = 0;
    std::string_view info;
    const size_t run = FenceRun(NextLine(text, &pos), &ch, &info);
    if (run == 0) continue;
    FencedBlock block;
    block.lang = LangOf(info);
    block.terminated = false;
    while (pos < text.size()) {
      const size_t line_start = pos;
      std::string_view line = NextLine(text, &pos);
      char close_ch = 0;
      std::string_view close_info;
      const size_t close = FenceRun(line, &close_ch, &close_info);
      if (close >= run && close_ch == ch && close_info.empty()) {
        block.terminated = true;
        break;
      }
      block.body.append(text.substr(line_start, pos - line_start));
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

std::string ExtractPythonCode(std::string_view text, std::string_view entry_point) {
  text = Clip(text);
  const std::vector<FencedBlock> blocks = ExtractFencedBlocks(text);
  if (blocks.empty()) return CutDone(text);
  if (!entry_point.empty()) {
    for (const FencedBlock& b : blocks) {
      if ((b.lang.empty() || IsPythonLang(b.lang)) && DefinesFunction(b.body, entry_point)) {
        return b.body;
      }
    }
  }
  for (const FencedBlock& b : blocks) {
    if (IsPythonLang(b.lang)) return b.body;
  }
  for (const FencedBlock& b : blocks) {
    if (b.lang.empty()) return b.body;
  }
  return blocks.front().body;
}

std::string TruncateAtStop(std::string_view text, const std::vector<std::string>& stops) {
  text = Clip(text);
  size_t cut = text.size();
  for (const std::string& stop : stops) {
    if (stop.empty()) continue;
    const size_t at = text.find(stop);
    if (at != std::string_view::npos) cut = std::min(cut, at);
  }
  return std::string(text.substr(0, cut));
}

bool DefinesFunction(std::string_view code, std::string_view name) {
  if (name.empty()) return false;
  code = Clip(code);
  size_t pos = 0;
  while (pos < code.size()) {
    std::string_view line = LTrim(NextLine(code, &pos));
    if (line.substr(0, 6) == "async ") line = LTrim(line.substr(6));
    if (line.substr(0, 3) != "def" || line.size() < 4 || !IsBlank(line[3])) continue;
    line = LTrim(line.substr(3));
    if (line.substr(0, name.size()) != name) continue;
    line = LTrim(line.substr(name.size()));
    if (!line.empty() && line[0] == '(') return true;
  }
  return false;
}

std::string TopLevelImports(std::string_view code) {
  code = Clip(code);
  std::string out;
  size_t pos = 0;
  while (pos < code.size()) {
    std::string_view line = NextLine(code, &pos);
    if (line.substr(0, 7) == "import " || line.substr(0, 5) == "from ") {
      out.append(line);
      out.push_back('\n');
    }
  }
  return out;
}

std::string CalledFunction(std::string_view test_line) {
  static constexpr std::array<std::string_view, 24> kSkip = {
      "assert", "set",   "sorted", "list", "tuple",      "abs",  "round", "len",
      "str",    "int",   "float",  "bool", "dict",       "frozenset", "any", "all",
      "sum",    "min",   "max",    "type", "isinstance", "repr", "not",  "print"};
  test_line = Clip(test_line);
  size_t i = 0;
  while (i < test_line.size()) {
    if (!IsIdentStart(test_line[i]) || (i > 0 && (IsIdentChar(test_line[i - 1]) ||
                                                   test_line[i - 1] == '.'))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < test_line.size() && IsIdentChar(test_line[end])) ++end;
    std::string_view ident = test_line.substr(i, end - i);
    size_t after = end;
    while (after < test_line.size() && IsBlank(test_line[after])) ++after;
    const bool call = after < test_line.size() && test_line[after] == '(';
    if (call && std::find(kSkip.begin(), kSkip.end(), ident) == kSkip.end()) {
      return std::string(ident);
    }
    i = end;
  }
  return "";
}

}  // namespace sigma::tasks::code
