// Escaping of untrusted bytes (model outputs, prompts, task names) for every medium the reports
// write: HTML text and attribute values, Markdown table cells, JSON strings, JSON inside <script>.
//
// Everything shown in a report goes through Escape(): model output is hostile (HTML, script tags,
// invalid UTF-8, NUL, terminal escapes, bidi overrides). Escape() decodes UTF-8 itself and makes
// every byte that could hide or change meaning visible as text:
//   - invalid UTF-8 bytes                     -> \xNN   (one per byte)
//   - C0 controls but \n and \t, DEL          -> \xNN   (NUL -> \x00, ESC -> \x1b); CR LF stays a
//                                                 newline, a lone CR becomes \x0d
//   - C1 controls, bidi/zero-width formatting -> \u{NNNN} (U+0080..9F, U+200B..200F, U+202A..202E,
//                                                 U+2060..206F, U+FEFF)
// and then applies the medium's own escapes (HTML: & < > " ' as entities; Markdown: & < > as
// entities, | ` * _ [ ] \ backslashed and newlines as " ⏎ "; a terminal: none). The result is
// always valid UTF-8.
// Thread safety: pure functions.
#ifndef SIGMA_REPORTS_ESCAPE_H_
#define SIGMA_REPORTS_ESCAPE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace sigma::reports {

enum class EscapeMode {
  kHtml,      // text content and quoted attribute values
  kMarkdown,  // one Markdown table cell or inline text (single line)
  kTerminal,  // text printed to a terminal: newlines and tabs kept, nothing else escaped
};

// Appends the escaped form of at most `max_bytes` input bytes (cut at a character boundary) to
// `out`; returns the number of input bytes consumed (== bytes.size() unless truncated).
size_t Escape(std::string_view bytes, EscapeMode mode, std::string* out,
              size_t max_bytes = std::string_view::npos);

// Convenience wrappers.
std::string HtmlEscape(std::string_view bytes);
std::string MarkdownEscape(std::string_view bytes);
std::string TerminalEscape(std::string_view bytes);

// Makes serialised JSON safe to embed in an HTML <script> element: < > & and U+2028/2029 become
// \u escapes (only valid inside JSON strings, where they can only occur).
std::string ScriptSafeJson(std::string_view json);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_ESCAPE_H_
