#include "engine/loader/random_checkpoint.h"

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "engine/base/file.h"
#include "engine/cpu/thread_pool.h"
#include "engine/loader/checkpoint_layout.h"
#include "engine/loader/model_weights.h"
#include "engine/loader/safetensors.h"

namespace sigma {
namespace {

// Elements per independently seeded chunk, and chunks generated in parallel before each write.
constexpr int64_t kChunkElems = int64_t{1} << 20;
constexpr int64_t kChunksPerBatch = 16;

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A stream state for one chunk of one tensor; chunks do not depend on each other or on threads.
uint64_t ChunkState(uint64_t seed, uint64_t tensor_index, uint64_t chunk_index) {
  uint64_t state = seed;
  state = SplitMix64(&state) ^ (tensor_index * 0xd1b54a32d192ed03ull);
  state = SplitMix64(&state) ^ (chunk_index * 0x8cb92ba72f3d8dd7ull);
  return SplitMix64(&state);
}

// Approximately N(0, 1): the Irwin-Hall sum of four 16-bit uniforms, centred and rescaled
// (bounded by +-3.46, which keeps random activations tame).
inline float Normalish(uint64_t r) {
  float sum = 0.0f;
  for (int i = 0; i < 4; ++i) sum += static_cast<float>((r >> (16 * i)) & 0xffffu);
  constexpr float kSqrt3 = 1.7320508f;
  return ((sum + 2.0f) * (1.0f / 65536.0f) - 2.0f) * kSqrt3;
}

// What a tensor's values are drawn as: matrices and biases N(0, kRandomCheckpointInitStd^2),
// norms 1, or, where the checkpoint stores norms as offsets from 1 (ModelConfig::
// norm_weight_offset, Gemma), N(0, kOffsetNormStd^2), so that a forward pass that forgot the
// offset would be far off.
constexpr float kOffsetNormStd = 0.25f;

template <DType kType>
void FillChunk(TensorKind kind, bool offset_norms, uint64_t state, int64_t n, uint8_t* out) {
  const float std = kind != TensorKind::kNorm ? kRandomCheckpointInitStd
                    : offset_norms            ? kOffsetNormStd
                                              : 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std == 0.0f ? 1.0f : std * Normalish(SplitMix64(&state));
    if constexpr (kType == DType::kF32) {
      reinterpret_cast<float*>(out)[i] = v;
    } else if constexpr (kType == DType::kF16) {
      reinterpret_cast<uint16_t*>(out)[i] = F32ToF16(v);
    } else {
      reinterpret_cast<uint16_t*>(out)[i] = F32ToBf16(v);
    }
  }
}

void Fill(DType dtype, TensorKind kind, bool offset_norms, uint64_t state, int64_t n,
          uint8_t* out) {
  switch (dtype) {
    case DType::kF32: return FillChunk<DType::kF32>(kind, offset_norms, state, n, out);
    case DType::kF16: return FillChunk<DType::kF16>(kind, offset_norms, state, n, out);
    default: return FillChunk<DType::kBF16>(kind, offset_norms, state, n, out);
  }
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  return numel;
}

// Draws chunks [first, first + count) of one tensor (numel elements) into out, which holds the
// first of them.
void FillChunks(const ExpectedTensor& spec, bool offset_norms, uint64_t tensor_index, uint64_t seed,
                DType dtype, int64_t numel, int64_t first, int64_t count, ThreadPool* pool,
                uint8_t* out) {
  const int64_t elem = DTypeBlockBytes(dtype);
  pool->ParallelFor(count, [&](int64_t task, int) {
    const int64_t chunk = first + task;
    const int64_t begin = chunk * kChunkElems;
    const int64_t n = std::min(kChunkElems, numel - begin);
    Fill(dtype, spec.kind, offset_norms,
         ChunkState(seed, tensor_index, static_cast<uint64_t>(chunk)), n,
         out + (begin - first * kChunkElems) * elem);
  });
}

// Generates and writes one tensor, kChunksPerBatch chunks at a time.
Status WriteTensor(const ExpectedTensor& spec, bool offset_norms, uint64_t tensor_index,
                   uint64_t seed, DType dtype, ThreadPool* pool, std::vector<uint8_t>* buffer,
                   SafetensorsWriter* writer) {
  const int64_t numel = NumElements(spec.shape);
  const int64_t elem = DTypeBlockBytes(dtype);
  const int64_t num_chunks = (numel + kChunkElems - 1) / kChunkElems;
  for (int64_t first = 0; first < num_chunks; first += kChunksPerBatch) {
    const int64_t count = std::min(kChunksPerBatch, num_chunks - first);
    const int64_t batch_begin = first * kChunkElems;
    const int64_t batch_end = std::min(numel, (first + count) * kChunkElems);
    FillChunks(spec, offset_norms, tensor_index, seed, dtype, numel, first, count, pool,
               buffer->data());
    const auto bytes = static_cast<size_t>((batch_end - batch_begin) * elem);
    SIGMA_RETURN_IF_ERROR(
        writer->Write(std::string_view(reinterpret_cast<const char*>(buffer->data()), bytes)));
  }
  return Status::Ok();
}

// The checkpoint's files into the existing folder `out_dir`, config.json last.
Status WriteCheckpointFiles(const ModelConfig& config, const std::string& out_dir, uint64_t seed,
                            DType dtype, int num_threads) {
  // Each expected tensor's values are drawn from its index among ExpectedTensors, whichever file
  // tensor holds it (CheckpointLayout: Granite MoE stacks its experts).
  std::map<std::string, uint64_t> index;
  for (const ExpectedTensor& spec : ExpectedTensors(config)) index.emplace(spec.name, index.size());
  const std::vector<FileTensor> layout = CheckpointLayout(config);
  std::vector<SafetensorsTensorInfo> infos;
  for (const FileTensor& f : layout) {
    infos.push_back({f.name, std::string(SafetensorsDTypeName(dtype)), f.shape});
  }
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> writer,
                         SafetensorsWriter::Create(out_dir + "/model.safetensors", infos));
  ThreadPool pool(num_threads);
  std::vector<uint8_t> buffer(
      static_cast<size_t>(kChunkElems * kChunksPerBatch * DTypeBlockBytes(dtype)));
  const bool offset_norms = config.norm_weight_offset() != 0;
  for (const FileTensor& f : layout) {
    if (f.transposed) {  // each piece drawn whole, then laid out in the stack (gpt-oss's experts)
      const auto elem = static_cast<size_t>(DTypeBlockBytes(dtype));
      std::vector<uint8_t> stack(static_cast<size_t>(NumElements(f.shape)) * elem);
      for (size_t i = 0; i < f.pieces.size(); ++i) {
        const ExpectedTensor& piece = f.pieces[i];
        const int64_t numel = NumElements(piece.shape);
        std::vector<uint8_t> values(static_cast<size_t>(numel) * elem);
        FillChunks(piece, offset_norms, index.at(piece.name), seed, dtype, numel, 0,
                   (numel + kChunkElems - 1) / kChunkElems, &pool, values.data());
        CopyPieceIn(f, i, elem, values.data(), stack.data());
      }
      SIGMA_RETURN_IF_ERROR(writer->Write(
          std::string_view(reinterpret_cast<const char*>(stack.data()), stack.size())));
      continue;
    }
    for (const ExpectedTensor& piece : f.pieces) {
      SIGMA_RETURN_IF_ERROR(WriteTensor(piece, offset_norms, index.at(piece.name), seed, dtype,
                                        &pool, &buffer, writer.get()));
    }
  }
  SIGMA_RETURN_IF_ERROR(writer->Finish());
  return WriteFileAtomic(out_dir + "/config.json", config.ToJson());
}

}  // namespace

Status WriteRandomCheckpoint(const ModelConfig& config, const std::string& out_dir, uint64_t seed,
                             DType dtype, int num_threads) {
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16) {
    return InvalidArgumentError("make-model: dtype ", DTypeName(dtype),
                                " is not supported (f32, f16, bf16)");
  }
  SIGMA_RETURN_IF_ERROR(config.Validate().WithContext("make-model: config"));
  return WriteIntoFolder(out_dir, {"model.safetensors", "config.json"}, [&] {
    return WriteCheckpointFiles(config, out_dir, seed, dtype, num_threads);
  });
}

}  // namespace sigma
