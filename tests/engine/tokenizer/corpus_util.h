// The tokenizer conformance corpus (tests/data/tokenizer/corpus.bin, written by
// tests/oracle/tokenizer_reference.py) and the hash its expected ids are kept as.
#ifndef SIGMA_TESTS_ENGINE_TOKENIZER_CORPUS_UTIL_H_
#define SIGMA_TESTS_ENGINE_TOKENIZER_CORPUS_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "engine/base/file.h"

namespace sigma {

inline const std::string kTokenizerData = std::string(SIGMA_TEST_DATA) + "/tokenizer";

inline uint32_t ReadU32(const std::string& s, size_t* pos) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + *pos, 4);
  *pos += 4;
  return v;
}

// The documents of corpus.bin (records: u32 byte length, UTF-8 bytes).
inline std::vector<std::string> LoadCorpus() {
  auto bytes = ReadFile(kTokenizerData + "/corpus.bin");
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  std::vector<std::string> docs;
  for (size_t pos = 0; bytes.ok() && pos < bytes->size();) {
    const uint32_t n = ReadU32(*bytes, &pos);
    docs.push_back(bytes->substr(pos, n));
    pos += n;
  }
  return docs;
}

// FNV-1a 64 over the ids as little-endian u32.
inline uint64_t Fnv1a64(const std::vector<int32_t>& ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t id : ids) {
    for (int b = 0; b < 4; ++b)
      h = (h ^ ((static_cast<uint32_t>(id) >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  }
  return h;
}

// Up to `n` ids from `from`, space-separated, for failure messages.
inline std::string ShowIds(const std::vector<int32_t>& ids, size_t from = 0, size_t n = 12) {
  std::ostringstream out;
  for (size_t k = from; k < ids.size() && k < from + n; ++k) out << ids[k] << " ";
  return out.str();
}

}  // namespace sigma

#endif  // SIGMA_TESTS_ENGINE_TOKENIZER_CORPUS_UTIL_H_
