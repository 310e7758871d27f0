#include "engine/loader/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "engine/base/file.h"
#include "tests/engine/loader/loader_test_util.h"

namespace sigma {
namespace {

using testing_util::FloatBytes;
using testing_util::OracleDir;
using testing_util::RawSafetensors;
using testing_util::ScratchDir;

// Writes raw bytes and opens them as a safetensors file.
Status OpenRaw(const ScratchDir& dir, const std::string& bytes) {
  const std::string path = dir.File("t.safetensors");
  SIGMA_CHECK(WriteFileAtomic(path, bytes).ok());
  return SafetensorsFile::Open(path).status();
}

std::string Entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
  std::string out = "\"";
  out.append(name).append("\": {\"dtype\": \"").append(dtype).append("\", \"shape\": ");
  return out.append(shape).append(", \"data_offsets\": ").append(offsets).append("}");
}

// {e1, e2, ...}
std::string Header(const std::vector<std::string>& entries) {
  std::string out = "{";
  for (size_t i = 0; i < entries.size(); ++i) out.append(i ? ", " : "").append(entries[i]);
  return out.append("}");
}

TEST(SafetensorsTest, WriteThenReadRoundTrips) {
  ScratchDir dir;
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const uint16_t b[4] = {F32ToBf16(1.5f), F32ToBf16(-2.0f), 0, F32ToBf16(3.0f)};
  const uint16_t h[1] = {F32ToF16(0.25f)};
  const int64_t ids[2] = {7, -9};
  const std::string b_bytes(reinterpret_cast<const char*>(b), sizeof(b));
  const std::string h_bytes(reinterpret_cast<const char*>(h), sizeof(h));
  const std::string id_bytes(reinterpret_cast<const char*>(ids), sizeof(ids));
  const std::string path = dir.File("m.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{{"b", "BF16", {4}}, b_bytes},
                                      {{"h", "F16", {1, 1}}, h_bytes},
                                      {{"a", "F32", {2, 3}}, FloatBytes(a)},
                                      {{"empty", "F32", {0, 5}}, ""},
                                      {{"ids", "I64", {2}}, id_bytes}})
                  .ok());
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  EXPECT_EQ((*file)->entries().size(), 5u);
  const auto& views = (*file)->tensors();
  ASSERT_EQ(views.size(), 4u);  // I64 is listed in entries() only
  EXPECT_EQ(views.count("ids"), 0u);
  ASSERT_NE((*file)->Find("ids"), nullptr);
  EXPECT_EQ((*file)->Find("ids")->dtype, "I64");
  const TensorView& va = views.at("a");
  EXPECT_EQ(va.dtype, DType::kF32);
  EXPECT_EQ(va.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(va.nbytes, 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(va.data) % 4, 0u);
  EXPECT_EQ(std::memcmp(va.data, a.data(), 24), 0);
  EXPECT_EQ(Bf16ToF32(static_cast<const uint16_t*>(views.at("b").data)[1]), -2.0f);
  EXPECT_EQ(F16ToF32(static_cast<const uint16_t*>(views.at("h").data)[0]), 0.25f);
  EXPECT_EQ(views.at("empty").nbytes, 0u);
  EXPECT_TRUE(views.at("empty").valid());
}

TEST(SafetensorsTest, WriterChecksByteCountsAndLeavesNoPartialFile) {
  ScratchDir dir;
  const std::string path = dir.File("w.safetensors");
  {
    auto writer = SafetensorsWriter::Create(path, {{"x", "F32", {4}}});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string(8, '\0')).ok());
    SIGMA_EXPECT_ERROR((*writer)->Write(std::string(12, '\0')), StatusCode::kInvalidArgument,
                       "past the declared 16 bytes");
    SIGMA_EXPECT_ERROR((*writer)->Finish(), StatusCode::kInvalidArgument, "wrote 8 of 16");
  }
  EXPECT_FALSE(FileExists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the temporary file is gone too
  SIGMA_EXPECT_ERROR(
      SafetensorsWriter::Create(path, {{"x", "F32", {1}}, {"x", "F32", {1}}}).status(),
      StatusCode::kInvalidArgument, "duplicate");
  SIGMA_EXPECT_ERROR(SafetensorsWriter::Create(path, {{"x", "Q4", {1}}}).status(),
                     StatusCode::kInvalidArgument, "unknown dtype 'Q4'");
  SIGMA_EXPECT_ERROR(WriteSafetensors(path, {{{"x", "F32", {2}}, "abc"}}),
                     StatusCode::kInvalidArgument, "tensor 'x' has 3 bytes");
}

TEST(SafetensorsTest, ShortAndTruncatedFiles) {
  ScratchDir dir;
  SIGMA_EXPECT_ERROR(OpenRaw(dir, ""), StatusCode::kDataLoss, "too short");
  SIGMA_EXPECT_ERROR(OpenRaw(dir, "abc"), StatusCode::kDataLoss, "too short");
  SIGMA_EXPECT_ERROR(OpenRaw(dir, RawSafetensors("{}", "", 1000)), StatusCode::kDataLoss,
                     "runs past the end of the file");
  // A real checkpoint cut inside its header, and cut inside its data.
  auto bytes = ReadFile(OracleDir("sigma-diffqkv-tiny") + "/model.safetensors");
  ASSERT_TRUE(bytes.ok());
  SIGMA_EXPECT_ERROR(OpenRaw(dir, bytes->substr(0, 100)), StatusCode::kDataLoss,
                     "runs past the end of the file");
  SIGMA_EXPECT_ERROR(OpenRaw(dir, bytes->substr(0, bytes->size() - 100)), StatusCode::kOutOfRange,
                     "outside the data section");
  SIGMA_EXPECT_ERROR(OpenRaw(dir, *bytes + "junk"), StatusCode::kInvalidArgument, "trailing bytes");
}

TEST(SafetensorsTest, HugeHeaderLengths) {
  ScratchDir dir;
  SIGMA_EXPECT_ERROR(OpenRaw(dir, RawSafetensors("{}", "", int64_t{200} << 20)),
                     StatusCode::kInvalidArgument, "exceeds the limit");
  // 8 + N would wrap around 64 bits.
  std::string wrap = RawSafetensors("{}", "");
  std::memset(wrap.data(), 0xff, 8);
  SIGMA_EXPECT_ERROR(OpenRaw(dir, wrap), StatusCode::kInvalidArgument, "exceeds the limit");
}

TEST(SafetensorsTest, MalformedHeaders) {
  ScratchDir dir;
  const std::string data(24, '\0');
  const std::string f32_6 = Entry("w", "F32", "[2, 3]", "[0, 24]");
  struct Case {
    std::string header;
    StatusCode code;
    std::string substring;
  };
  const std::vector<Case> cases = {
      {"", StatusCode::kInvalidArgument, "does not start with '{'"},
      {"[1]", StatusCode::kInvalidArgument, "does not start with '{'"},
      {"{\"w\": ", StatusCode::kInvalidArgument, "header: invalid JSON"},
      {"{\"w\xff\": 1}", StatusCode::kInvalidArgument, "invalid JSON"},
      {"{\"w\": 5}", StatusCode::kInvalidArgument, "tensor 'w': expected an object"},
      {Header({Entry("w", "F32", "[2, 3]", "[0, 1000]")}), StatusCode::kOutOfRange,
       "data_offsets [0, 1000] outside the data section of 24 bytes"},
      {Header({Entry("w", "F32", "[2, 3]", "[24, 0]")}), StatusCode::kOutOfRange,
       "outside the data section"},
      {Header({Entry("w", "F32", "[2, 3]", "[-8, 16]")}), StatusCode::kInvalidArgument,
       "data_offsets: expected non-negative integers, got -8"},
      {Header({Entry("w", "F32", "[2, 3]", "[0.0, 24]")}), StatusCode::kInvalidArgument,
       "non-negative integers"},
      {Header({Entry("w", "F32", "[2, 3]", "[0, 18446744073709551615]")}),
       StatusCode::kInvalidArgument, "non-negative integers"},
      {Header({Entry("w", "F32", "[2, 3]", "[0, 24, 48]")}), StatusCode::kInvalidArgument,
       "expected [begin, end]"},
      {Header({Entry("w", "F32", "[2, 2]", "[0, 24]")}), StatusCode::kInvalidArgument,
       "data_offsets span 24 bytes but F32 shape [2, 2] needs 16"},
      {Header({Entry("w", "F32", "[-1, 6]", "[0, 24]")}), StatusCode::kInvalidArgument,
       "shape: expected non-negative integers"},
      {Header({Entry("w", "F32", "[4294967296, 4294967296, 16]", "[0, 24]")}),
       StatusCode::kInvalidArgument, "overflows"},
      {Header({Entry("w", "F32", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,6]", "[0, 24]")}),
       StatusCode::kInvalidArgument, "rank 17"},
      {Header({Entry("w", "Q4", "[6]", "[0, 24]")}), StatusCode::kInvalidArgument,
       "tensor 'w': unknown dtype 'Q4'"},
      {"{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 24]}}", StatusCode::kInvalidArgument,
       "missing 'shape'"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [6]}}", StatusCode::kInvalidArgument,
       "missing 'data_offsets'"},
      {"{\"w\": {\"shape\": [6], \"data_offsets\": [0, 24]}}", StatusCode::kInvalidArgument,
       "dtype"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24], \"x\": 1}}",
       StatusCode::kInvalidArgument, "unknown key 'x'"},
      {Header({f32_6, f32_6}), StatusCode::kInvalidArgument, "duplicate entry 'w'"},
      {"{\"__metadata__\": {\"format\": 1}, " + f32_6 + "}", StatusCode::kInvalidArgument,
       "__metadata__.format: expected a string"},
      {"{\"__metadata__\": [], " + f32_6 + "}", StatusCode::kInvalidArgument,
       "__metadata__: expected an object"},
      {Header({Entry("a", "F32", "[4]", "[0, 16]"), Entry("b", "F32", "[4]", "[8, 24]")}),
       StatusCode::kInvalidArgument, "overlap"},
      {Header({Entry("a", "F32", "[4]", "[0, 16]"), Entry("b", "F32", "[4]", "[0, 16]")}),
       StatusCode::kInvalidArgument, "overlap"},
      {Header({Entry("a", "F32", "[2]", "[0, 8]"), Entry("b", "F32", "[2]", "[16, 24]")}),
       StatusCode::kInvalidArgument, "gap of 8 bytes"},
      {Header({Entry("a", "F32", "[4]", "[0, 16]")}), StatusCode::kInvalidArgument,
       "trailing bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    SIGMA_EXPECT_ERROR(OpenRaw(dir, RawSafetensors(c.header, data)), c.code, c.substring);
  }
}

TEST(SafetensorsTest, MisalignedDataIsCopiedToAlignedMemory) {
  ScratchDir dir;
  // A 3-byte header padding puts the data section at an odd file offset.
  std::string header = Header({Entry("w", "F32", "[2]", "[0, 8]")});
  while ((8 + header.size()) % 4 != 1) header += ' ';
  const std::vector<float> values = {1.25f, -3.5f};
  const std::string path = dir.File("odd.safetensors");
  ASSERT_TRUE(WriteFileAtomic(path, RawSafetensors(header, FloatBytes(values))).ok());
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const TensorView& w = (*file)->tensors().at("w");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 4, 0u);
  EXPECT_EQ(static_cast<const float*>(w.data)[1], -3.5f);
}

// Every prefix and many single-byte corruptions of a real file: always a Status, never a crash.
TEST(SafetensorsTest, CorruptedBytesNeverCrash) {
  ScratchDir dir;
  const std::string path = dir.File("small.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{{"a", "F32", {2}}, FloatBytes({1, 2})},
                                      {{"b", "BF16", {2, 2}}, FloatBytes({3, 4})}})
                  .ok());
  const std::string good = *ReadFile(path);
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(OpenRaw(dir, good.substr(0, len)).ok()) << len;
  }
  const size_t header_end = good.size() - 16;
  for (size_t pos = 0; pos < header_end; ++pos) {
    for (const char value : {'\0', '9', '-', '"', '}', '\xff'}) {
      std::string bad = good;
      bad[pos] = value;
      (void)OpenRaw(dir, bad);
    }
  }
}

class ShardedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        WriteSafetensors(dir_.File("s1.safetensors"), {{{"a", "F32", {2}}, FloatBytes({1, 2})},
                                                       {{"n", "I64", {1}}, std::string(8, '\0')}})
            .ok());
    ASSERT_TRUE(
        WriteSafetensors(dir_.File("s2.safetensors"), {{{"b", "F32", {1}}, FloatBytes({3})}}).ok());
  }
  void WriteIndex(const std::string& json) {
    ASSERT_TRUE(WriteFileAtomic(dir_.File("model.safetensors.index.json"), json).ok());
  }
  Status Open() { return SafetensorsWeightSource::Open(dir_.path()).status(); }

  ScratchDir dir_;
};

TEST_F(ShardedTest, OpensShardsListedInTheIndex) {
  WriteIndex(R"({"metadata": {"total_size": 20},
                 "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors",
                                "n": "s1.safetensors"}})");
  auto source = SafetensorsWeightSource::Open(dir_.path());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->tensors().size(), 2u);
  EXPECT_EQ(static_cast<const float*>((*source)->tensors().at("b").data)[0], 3.0f);
  EXPECT_EQ((*source)->files().size(), 2u);
  EXPECT_EQ((*source)->UnsupportedDType("n"), "I64");
  EXPECT_EQ((*source)->UnsupportedDType("a"), "");
}

TEST_F(ShardedTest, BrokenIndexes) {
  const std::vector<std::tuple<std::string, StatusCode, std::string>> cases = {
      {"{\"weight_map\": ", StatusCode::kInvalidArgument, "invalid JSON"},
      {"[]", StatusCode::kInvalidArgument, "expected a JSON object"},
      {"{}", StatusCode::kInvalidArgument, "missing 'weight_map'"},
      {R"({"weight_map": []})", StatusCode::kInvalidArgument, "weight_map: expected an object"},
      {R"({"weight_map": {}})", StatusCode::kInvalidArgument, "weight_map is empty"},
      {R"({"weight_map": {"a": 3}})", StatusCode::kInvalidArgument,
       "weight_map['a']: expected a file name"},
      {R"({"weight_map": {"a": "../s1.safetensors"}})", StatusCode::kInvalidArgument,
       "not a plain file name"},
      {R"({"weight_map": {"a": "s9.safetensors"}})", StatusCode::kNotFound,
       "shard 's9.safetensors' (for tensor 'a') does not exist"},
      {R"({"weight_map": {"b": "s1.safetensors"}})", StatusCode::kNotFound,
       "tensor 'b' is mapped to shard 's1.safetensors', which does not hold it"},
      {R"({"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}})",
       StatusCode::kInvalidArgument, "duplicate tensor 'a'"},
  };
  for (const auto& [json, code, substring] : cases) {
    SCOPED_TRACE(json);
    WriteIndex(json);
    SIGMA_EXPECT_ERROR(Open(), code, substring);
  }
}

TEST_F(ShardedTest, CorruptShardIsReported) {
  ASSERT_TRUE(WriteFileAtomic(dir_.File("s2.safetensors"), "xyz").ok());
  WriteIndex(R"({"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})");
  SIGMA_EXPECT_ERROR(Open(), StatusCode::kDataLoss, "s2.safetensors: file is 3 bytes");
}

TEST(SafetensorsSourceTest, EmptyFolderIsNotFound) {
  ScratchDir dir;
  SIGMA_EXPECT_ERROR(SafetensorsWeightSource::Open(dir.path()).status(), StatusCode::kNotFound,
                     "no model.safetensors or model.safetensors.index.json");
}

}  // namespace
}  // namespace sigma
