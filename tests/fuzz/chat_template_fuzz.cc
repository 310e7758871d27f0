// libFuzzer harness for chat templates, which come from model files (a GGUF's
// tokenizer.chat_template, a folder's tokenizer_config.json) and so may be hostile: the input is
// a template's source, parsed and, where it parses, rendered with a conversation. Every input must
// give a Status error or text, never crash, hang, recurse without bound or read out of bounds.
// Seeds: the real templates scripts/setup.sh fetches into models/templates/.
// Run:
//   mkdir -p /tmp/ct && ./chat_template_fuzz -max_total_time=300 -max_len=16384 /tmp/ct \
//       models/templates
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/tokenizer/chat_template.h"

namespace {
volatile uint64_t sink = 0;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto tmpl = sigma::ChatTemplate::FromTemplateText(source, "<s>", "</s>");
  if (!tmpl.ok()) return 0;
  const sigma::ChatMessage conversation[] = {
      {"system", "Be brief."}, {"user", "Hi {{ x }}"}, {"assistant", "Hello"}, {"user", "Bye"}};
  for (const bool prompt : {true, false}) {
    auto out = tmpl->Render(conversation, prompt);
    if (out.ok()) sink = sink + out->size();
  }
  return 0;
}
