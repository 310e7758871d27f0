// Jinja source -> statements (ast.h), with the whitespace rules transformers renders chat
// templates under: trim_blocks (the newline after a block or comment tag is dropped) and
// lstrip_blocks (spaces and tabs before a block or comment tag that starts its line are dropped),
// plus the "-" and "+" markers of each tag.
#ifndef SIGMA_ENGINE_TOKENIZER_JINJA_PARSE_H_
#define SIGMA_ENGINE_TOKENIZER_JINJA_PARSE_H_

#include <string_view>

#include "engine/base/status.h"
#include "engine/tokenizer/jinja/ast.h"

namespace sigma::jinja {

// INVALID_ARGUMENT naming the line for malformed templates; UNIMPLEMENTED for statements this
// subset of Jinja does not have (call blocks, includes, raw blocks, ...).
StatusOr<Body> ParseTemplate(std::string_view source);

}  // namespace sigma::jinja

#endif  // SIGMA_ENGINE_TOKENIZER_JINJA_PARSE_H_
