// libFuzzer harness for what `sigma-eval serve` reads from any client first: an HTTP request head
// (ParseHttpRequestHead, harness/http/http_message.h). Whatever the bytes, the parser answers OK
// or an error (never a crash), and an accepted head keeps the promises the server relies on: a
// token method, a path from '/' without its query, header names lower-cased and values trimmed.
// Built only with clang and -DSIGMA_FUZZ=ON (tests/fuzz/CMakeLists.txt); seeds in
// tests/fuzz/corpus/http_head/. Run:
//   ./http_head_fuzz -max_total_time=300 -max_len=4096 tests/fuzz/corpus/http_head
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "harness/http/http_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view head(reinterpret_cast<const char*>(data), size);
  sigma::harness::HttpRequest request;
  const sigma::Status status = sigma::harness::ParseHttpRequestHead(head, &request);
  if (!status.ok()) {
    if (status.message().empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (request.method.empty() || request.path.empty() || request.path[0] != '/' ||
      request.path.find('?') != std::string::npos) {
    std::abort();
  }
  for (const auto& [name, value] : request.headers) {
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') std::abort();
    }
    if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) std::abort();
  }
  return 0;
}
