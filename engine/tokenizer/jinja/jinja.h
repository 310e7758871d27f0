// A Jinja interpreter for chat templates: the subset of Jinja 2 that Hugging Face chat templates
// are written in, rendered as transformers renders them (jinja2's ImmutableSandboxedEnvironment
// with trim_blocks and lstrip_blocks, its tojson, raise_exception and strftime_now), so that a
// model's own template gives the prompt its authors meant, byte for byte.
//
// Statements: if / elif / else, for (tuple targets, a filter "if", else, loop.index / index0 /
// revindex / first / last / length / previtem / nextitem, break, continue), set (names, a
// namespace's attribute, a block), macro (parameters with defaults), filter blocks, generation
// blocks (rendered as their body). Expressions: literals, lists, dicts, tuples, attributes,
// items, slices, calls with keyword arguments, filters, tests, and Python's operators. The
// filters, tests and string / dict methods are listed in builtins.h. Anything else is an error
// naming it; so is raise_exception, with the template's message.
// Thread safety: a const Template may render from many threads.
#ifndef SIGMA_ENGINE_TOKENIZER_JINJA_JINJA_H_
#define SIGMA_ENGINE_TOKENIZER_JINJA_JINJA_H_

#include <memory>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/tokenizer/jinja/ast.h"
#include "engine/tokenizer/jinja/value.h"

namespace sigma::jinja {

class Template {
 public:
  // INVALID_ARGUMENT for malformed source, UNIMPLEMENTED for constructs outside the subset; both
  // name the line.
  static StatusOr<Template> Parse(std::string_view source);

  // Renders with `variables` (messages, add_generation_prompt, bos_token, ...) over the globals
  // range, namespace, dict and raise_exception; a variable of the same name wins.
  StatusOr<std::string> Render(const Dict& variables) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace sigma::jinja

#endif  // SIGMA_ENGINE_TOKENIZER_JINJA_JINJA_H_
