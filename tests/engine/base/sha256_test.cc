#include "engine/base/sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sigma {
namespace {

// Every test runs with the SHA extensions (where the CPU has them) and with the portable code.
class Sha256Test : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !Sha256::ShaExtensionsAvailable()) GTEST_SKIP() << "no SHA extensions";
    Sha256::UseShaExtensions(GetParam());
  }
  void TearDown() override { Sha256::UseShaExtensions(true); }
};

// FIPS 180-4 / NIST example vectors.
TEST_P(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_P(Sha256Test, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t split : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 999u}) {
    Sha256 sha;
    sha.Update(std::string_view(data).substr(0, split));
    sha.Update(std::string_view(data).substr(split));
    EXPECT_EQ(sha.FinalHex(), Sha256Hex(data)) << split;
  }
}

// The two implementations agree on random data of every length around the block and padding
// boundaries, and on a few MB hashed in uneven pieces.
TEST_P(Sha256Test, SameDigestsAsThePortableCode) {
  if (!GetParam()) GTEST_SKIP() << "compares the SHA extensions with the portable code";
  std::mt19937 rng(9);
  std::string data(3 << 20, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const auto portable = [](std::string_view bytes) {
    Sha256::UseShaExtensions(false);
    const std::string hex = Sha256Hex(bytes);
    Sha256::UseShaExtensions(true);
    return hex;
  };
  for (size_t n = 0; n <= 300; ++n) {
    ASSERT_EQ(Sha256Hex(std::string_view(data).substr(0, n)),
              portable(std::string_view(data).substr(0, n)))
        << n << " bytes";
  }
  Sha256 sha;
  for (size_t at = 0; at < data.size();) {
    const size_t take = std::min<size_t>(data.size() - at, 1 + rng() % 100000);
    sha.Update(std::string_view(data).substr(at, take));
    at += take;
  }
  EXPECT_EQ(sha.FinalHex(), portable(data));
}

INSTANTIATE_TEST_SUITE_P(Implementations, Sha256Test, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "ShaExtensions" : "Portable";
                         });

}  // namespace
}  // namespace sigma
