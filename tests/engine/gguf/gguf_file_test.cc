// GgufFile and GgufWriter: round trips, and hostile files (reliability.md §4.1) crafted with
// GgufByteWriter - each must give a clear Status naming the field, never a crash.
#include "engine/gguf/gguf_file.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "engine/gguf/gguf_writer.h"

namespace sigma {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

std::string ValidFile() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetU32("llama.block_count", 2);
  w.SetI32("i32", -5);
  w.SetU64("u64", 1ull << 40);
  w.SetF32("f32", 0.5f);
  w.SetBool("flag", true);
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "", "\xe2\x96\x81x"});
  w.SetF32Array("tokenizer.ggml.scores", {0.f, -1.f, 2.5f, 3.f});
  w.SetI32Array("tokenizer.ggml.token_type", {1, 1, 3, 6});
  std::vector<float> f32(6);
  for (int i = 0; i < 6; ++i) f32[i] = static_cast<float>(i);
  EXPECT_TRUE(w.AddTensor("a.weight", DType::kF32, {2, 3},
                          std::string_view(reinterpret_cast<const char*>(f32.data()), 24))
                  .ok());
  EXPECT_TRUE(w.AddTensor("q.weight", DType::kQ8_0, {3, 64}, std::string(3 * 2 * 34, '\x01')).ok());
  EXPECT_TRUE(w.AddTensor("h.weight", DType::kBF16, {5}, std::string(10, '\x02')).ok());
  return w.Serialize();
}

TEST(GgufFileTest, WriterRoundTrip) {
  auto f = GgufFile::FromBytes(ValidFile(), "valid.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(*g.GetString("general.architecture"), "llama");
  EXPECT_EQ(*g.GetUint("llama.block_count"), 2u);
  EXPECT_EQ(g.Find("i32")->i, -5);
  EXPECT_FALSE(g.GetUint("i32").ok());
  EXPECT_EQ(*g.GetUint("u64"), 1ull << 40);
  EXPECT_EQ(*g.GetFloat("f32"), 0.5);
  EXPECT_TRUE(*g.GetBool("flag"));
  auto tokens = g.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)[3], "\xe2\x96\x81x");
  EXPECT_EQ((*tokens)[2], "");
  EXPECT_EQ((*g.GetF32Array("tokenizer.ggml.scores"))[2], 2.5f);
  EXPECT_EQ((*g.GetI32Array("tokenizer.ggml.token_type"))[3], 6);
  ASSERT_EQ(g.tensors().size(), 3u);
  const GgufTensorInfo* a = g.FindTensor("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->dims, (std::vector<uint64_t>{3, 2}));
  float v;
  std::memcpy(&v, g.TensorData(*a).data() + 5 * 4, 4);
  EXPECT_EQ(v, 5.f);
  const GgufTensorInfo* q = g.FindTensor("q.weight");
  EXPECT_EQ(q->dtype, DType::kQ8_0);
  EXPECT_EQ(q->nbytes, 3u * 2 * 34);
  EXPECT_EQ(q->offset % 32, 0u);
  EXPECT_EQ(g.FindTensor("h.weight")->dtype, DType::kBF16);
}

TEST(GgufFileTest, TypedGettersRejectWrongTypes) {
  auto f = GgufFile::FromBytes(ValidFile(), "valid.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->GetString("missing").status().code(), StatusCode::kNotFound);
  auto s = (*f)->GetF32Array("tokenizer.ggml.token_type");  // i32 array read as f32
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("tokenizer.ggml.token_type"), std::string::npos);
  EXPECT_FALSE((*f)->GetI32Array("tokenizer.ggml.scores").ok());
  EXPECT_FALSE((*f)->GetString("llama.block_count").ok());
  EXPECT_FALSE((*f)->GetStringArray("general.architecture").ok());
}

TEST(GgufFileTest, CustomAlignment) {
  GgufWriter w(64);
  ASSERT_TRUE(w.AddTensor("x", DType::kF32, {3}, std::string(12, '\0')).ok());
  ASSERT_TRUE(w.AddTensor("y", DType::kF32, {3}, std::string(12, '\0')).ok());
  auto f = GgufFile::FromBytes(w.Serialize(), "a64.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->alignment(), 64u);
  EXPECT_EQ((*f)->FindTensor("y")->offset, 64u);
  EXPECT_EQ((*f)->data_offset() % 64, 0u);
}

TEST(GgufFileTest, WriterRejectsBadTensors) {
  GgufWriter w;
  EXPECT_FALSE(w.AddTensor("x", DType::kQ4_0, {2, 33}, std::string(100, '\0')).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {2}, std::string(7, '\0')).ok());
  EXPECT_FALSE(w.AddTensor("", DType::kF32, {1}, std::string(4, '\0')).ok());
  EXPECT_FALSE(w.AddTensor(std::string(65, 'n'), DType::kF32, {1}, std::string(4, '\0')).ok());
  EXPECT_TRUE(w.AddTensor("x", DType::kF32, {1}, std::string(4, '\0')).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {1}, std::string(4, '\0')).ok());
}

// --- hostile files --------------------------------------------------------------------------

GgufByteWriter Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  GgufByteWriter w;
  w.PutRaw("GGUF", 4);
  w.PutU32(version);
  w.PutU64(n_tensors);
  w.PutU64(n_kv);
  return w;
}

// Parses and expects an error of `code` whose message contains `needle`.
void ExpectError(const std::string& bytes, StatusCode code, const std::string& needle) {
  auto f = GgufFile::FromBytes(bytes, "hostile.gguf");
  ASSERT_FALSE(f.ok()) << "accepted a hostile file; expected: " << needle;
  EXPECT_EQ(f.status().code(), code) << f.status().ToString();
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().ToString();
  EXPECT_NE(f.status().message().find("hostile.gguf"), std::string::npos) << f.status().ToString();
}

GgufByteWriter Padding(GgufByteWriter w, size_t n = 64) {
  for (size_t k = 0; k < n; ++k) w.PutU8(0);
  return w;
}

TEST(GgufHostileTest, HeaderFields) {
  ExpectError("", StatusCode::kDataLoss, "magic");
  ExpectError("GGU", StatusCode::kDataLoss, "magic");
  ExpectError("GGML\x03\0\0\0", StatusCode::kInvalidArgument, "not a GGUF file");
  ExpectError(Padding(Header(0, 0, 1)).bytes(), StatusCode::kUnimplemented, "version 1");
  ExpectError(Padding(Header(0, 0, 0x03000000)).bytes(), StatusCode::kUnimplemented,
              "byte-swapped");
  ExpectError(Padding(Header(0, kU64Max)).bytes(), StatusCode::kInvalidArgument,
              "metadata_kv_count");
  ExpectError(Padding(Header(0, 1ull << 62)).bytes(), StatusCode::kInvalidArgument,
              "metadata_kv_count");
  ExpectError(Padding(Header(kU64Max, 0)).bytes(), StatusCode::kInvalidArgument, "tensor_count");
  ExpectError(Padding(Header(100, 0)).bytes(), StatusCode::kInvalidArgument, "tensor_count");
  ExpectError(Header(0, 0).bytes().substr(0, 20), StatusCode::kDataLoss, "metadata_kv_count");
}

TEST(GgufHostileTest, Strings) {
  GgufByteWriter w = Header(0, 1);
  w.PutU64(kU64Max);  // key length
  ExpectError(Padding(w).bytes(), StatusCode::kInvalidArgument, "string length");
  w = Header(0, 1);
  w.PutU64(60000);  // within the key cap, past the end
  ExpectError(Padding(w).bytes(), StatusCode::kDataLoss, "runs past the end");
  w = Header(0, 1);
  w.PutString("k");
  w.PutU32(static_cast<uint32_t>(GgufType::kString));
  w.PutU64(1ull << 63);  // value length
  ExpectError(Padding(w).bytes(), StatusCode::kInvalidArgument, "metadata 'k'");
  w = Header(0, 1);
  w.PutString("");
  ExpectError(Padding(w).bytes(), StatusCode::kInvalidArgument, "is empty");
}

TEST(GgufHostileTest, ValueTypesAndArrays) {
  auto kv = [](auto body) {
    GgufByteWriter w = Header(0, 1);
    w.PutString("key.name");
    body(w);
    return Padding(w).bytes();
  };
  ExpectError(kv([](GgufByteWriter& w) { w.PutU32(13); }), StatusCode::kInvalidArgument,
              "unknown value type 13");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(7);
                w.PutU8(2);
              }),
              StatusCode::kInvalidArgument, "bool byte 2");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(9);
                w.PutU32(4);
                w.PutU64(kU64Max);
              }),
              StatusCode::kInvalidArgument, "array length");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(9);
                w.PutU32(8);
                w.PutU64(1ull << 40);
              }),
              StatusCode::kInvalidArgument, "array length");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(9);
                w.PutU32(99);
                w.PutU64(1);
              }),
              StatusCode::kInvalidArgument, "element type");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(9);
                w.PutU32(8);
                w.PutU64(2);
                w.PutString("ok");
                w.PutU64(1ull << 50);
              }),
              StatusCode::kInvalidArgument, "key.name'[1]");
  ExpectError(kv([](GgufByteWriter& w) {
                w.PutU32(9);
                for (int d = 0; d < 5; ++d) {
                  w.PutU32(9);
                  w.PutU64(1);
                }
              }),
              StatusCode::kInvalidArgument, "nested");
}

TEST(GgufHostileTest, DuplicateKeysAndAlignment) {
  GgufByteWriter w = Header(0, 2);
  for (int k = 0; k < 2; ++k) {
    w.PutString("a");
    w.PutU32(4);
    w.PutU32(1);
  }
  ExpectError(w.bytes(), StatusCode::kInvalidArgument, "duplicate metadata key 'a'");
  for (uint32_t a : {0u, 1u, 4u, 24u, 1u << 31}) {
    w = Header(0, 1);
    w.PutString("general.alignment");
    w.PutU32(4);
    w.PutU32(a);
    ExpectError(Padding(w).bytes(), StatusCode::kInvalidArgument, "general.alignment");
  }
  w = Header(0, 1);
  w.PutString("general.alignment");
  w.PutU32(10);  // u64
  w.PutU64(32);
  ExpectError(Padding(w).bytes(), StatusCode::kInvalidArgument, "expected u32");
}

// One tensor info; `dims` in ggml order.
std::string OneTensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type,
                      uint64_t offset, size_t data_bytes = 64) {
  GgufByteWriter w = Header(1, 0);
  w.PutString(name);
  w.PutU32(static_cast<uint32_t>(dims.size()));
  for (uint64_t d : dims) w.PutU64(d);
  w.PutU32(type);
  w.PutU64(offset);
  w.PadTo(32);
  for (size_t k = 0; k < data_bytes; ++k) w.PutU8(0);
  return w.bytes();
}

TEST(GgufHostileTest, TensorInfos) {
  EXPECT_TRUE(GgufFile::FromBytes(OneTensor("t", {16}, kGgmlF32, 0), "ok.gguf").ok());
  ExpectError(OneTensor("t", {}, kGgmlF32, 0), StatusCode::kInvalidArgument, "n_dims 0");
  ExpectError(OneTensor("t", {1, 1, 1, 1, 1}, kGgmlF32, 0), StatusCode::kInvalidArgument,
              "n_dims 5");
  ExpectError(OneTensor("t", {4, 0}, kGgmlF32, 0), StatusCode::kInvalidArgument, "dim 1 = 0");
  ExpectError(OneTensor("t", {1ull << 41}, kGgmlF32, 0), StatusCode::kInvalidArgument, "dim 0");
  ExpectError(OneTensor("t", {1ull << 40, 1ull << 40}, kGgmlF32, 0), StatusCode::kInvalidArgument,
              "element count overflows");
  ExpectError(OneTensor("t", {~0ull >> 1, 2}, kGgmlF32, 0), StatusCode::kInvalidArgument, "dim 0");
  ExpectError(OneTensor("t", {16}, 99, 0), StatusCode::kUnimplemented, "ggml type 99");
  ExpectError(OneTensor("t", {256}, 16, 0), StatusCode::kUnimplemented, "IQ2_XXS");
  ExpectError(OneTensor("t", {33}, kGgmlQ4_0, 0), StatusCode::kInvalidArgument, "block size 32");
  ExpectError(OneTensor("t", {16}, kGgmlF32, 8), StatusCode::kInvalidArgument, "alignment");
  ExpectError(OneTensor("t", {16}, kGgmlF32, 1ull << 40), StatusCode::kDataLoss, "past the end");
  ExpectError(OneTensor("t", {16}, kGgmlF32, kU64Max - 31), StatusCode::kDataLoss, "past the end");
  ExpectError(OneTensor("t", {17}, kGgmlF32, 0), StatusCode::kDataLoss, "tensor 't'");
  ExpectError(OneTensor("t", {1ull << 30, 1ull << 10}, kGgmlF32, 0), StatusCode::kDataLoss,
              "past the end");
  ExpectError(OneTensor(std::string(65, 'n'), {16}, kGgmlF32, 0), StatusCode::kInvalidArgument,
              "name");
  ExpectError(OneTensor("", {16}, kGgmlF32, 0), StatusCode::kInvalidArgument, "empty name");
  ExpectError(OneTensor(std::string("a\0b", 3), {16}, kGgmlF32, 0), StatusCode::kInvalidArgument,
              "NUL");
}

TEST(GgufHostileTest, OverlapAndDuplicateTensors) {
  for (const char* second : {"u", "t"}) {
    GgufByteWriter w = Header(2, 0);
    for (const char* name : {"t", second}) {
      w.PutString(name);
      w.PutU32(1);
      w.PutU64(16);
      w.PutU32(kGgmlF32);
      w.PutU64(0);
    }
    w.PadTo(32);
    w = Padding(std::move(w), 128);
    ExpectError(w.bytes(), StatusCode::kInvalidArgument,
                std::string(second) == "t" ? "duplicate tensor name" : "overlap");
  }
}

TEST(GgufHostileTest, EveryTruncationIsAnError) {
  const std::string valid = ValidFile();
  ASSERT_TRUE(GgufFile::FromBytes(valid, "v").ok());
  // Every prefix that cuts into the infos or the data must fail cleanly (the last tensor's
  // trailing padding can be cut without losing data).
  const size_t data_end = valid.size() - 22;  // h.weight: 10 bytes + 22 padding
  for (size_t n = 0; n < data_end; ++n) {
    auto f = GgufFile::FromBytes(valid.substr(0, n), "cut.gguf");
    EXPECT_FALSE(f.ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST(GgufHostileTest, RandomMutationsNeverCrash) {
  const std::string valid = ValidFile();
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s = valid;
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = static_cast<char>(rng());
          break;
        case 1:
          s[pos] = static_cast<char>(0xff);
          break;
        default:
          std::memset(&s[pos], 0xff, std::min<size_t>(8, s.size() - pos));
          break;
      }
    }
    auto f = GgufFile::FromBytes(s, "mutant.gguf");
    if (!f.ok()) continue;
    ++accepted;
    for (const GgufTensorInfo& t : (*f)->tensors()) {  // every accepted view is in bounds
      auto data = (*f)->TensorData(t);
      ASSERT_EQ(data.size(), t.nbytes);
      volatile uint8_t sink = data.empty() ? 0 : data[data.size() - 1];
      (void)sink;
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace sigma
