// safetensors: a validating, memory-mapped reader of single and sharded checkpoints, and a
// streaming writer (for make-model and for tests that craft files).
//
// Format: an 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets}, "__metadata__": {string: string}}, then the data section. Open() checks every
// count, size and offset before any byte is used (reference/reliability.md §4.2): N <= 100 MB and
// inside the file, a UTF-8 JSON object without duplicate keys, known dtypes, non-negative integer
// dims whose byte size does not overflow, data_offsets that match the size, and tensors that tile
// the data section exactly (no overlap, no gap, no trailing bytes).
//
// Ownership: a SafetensorsFile owns its mapping; the TensorViews it hands out point into it (or
// into aligned copies it owns, for tensors the file stores misaligned) and live as long as it.
// SafetensorsWeightSource owns the files of one checkpoint folder.
// Thread safety: readers are immutable after Open and safe to share; a writer is single-threaded.
#ifndef SIGMA_ENGINE_LOADER_SAFETENSORS_H_
#define SIGMA_ENGINE_LOADER_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/status.h"
#include "engine/base/temp_files.h"
#include "engine/dtype.h"
#include "engine/loader/checkpoint_layout.h"
#include "engine/loader/model_weights.h"
#include "engine/tensor.h"

namespace sigma {

inline constexpr uint64_t kSafetensorsMaxHeaderBytes = uint64_t{100} << 20;
inline constexpr size_t kSafetensorsMaxTensors = size_t{1} << 20;
inline constexpr size_t kSafetensorsMaxRank = 16;

// "F32", "F16", "BF16" for the types this engine reads; SIGMA_CHECKs on others.
std::string_view SafetensorsDTypeName(DType dtype);

// Bytes per element of a safetensors dtype name ("F32" -> 4, "I64" -> 8); 0 when unknown.
uint64_t SafetensorsDTypeBytes(std::string_view name);

// One tensor as the header describes it (all fields validated).
struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // as written: "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;  // outermost first
  uint64_t begin = 0;          // byte offsets into the data section, [begin, end)
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps `path` and validates the whole header against the file size.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // Every tensor in the file, sorted by data offset.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Views of the tensors whose dtype this engine reads (F32, F16, BF16), by name.
  const std::map<std::string, TensorView>& tensors() const { return views_; }
  // The header entry for `name`, or nullptr.
  const SafetensorsEntry* Find(std::string_view name) const;
  // The bytes of one of this file's entries, whatever its dtype (U8 blocks, say).
  std::span<const uint8_t> Bytes(const SafetensorsEntry& e) const {
    return {data_ + e.begin, static_cast<size_t>(e.end - e.begin)};
  }
  // MappedFile::ReleasePages on this file's mapping.
  void ReleasePages(const void* p, size_t bytes) const { file_.ReleasePages(p, bytes); }

 private:
  SafetensorsFile() = default;
  Status ParseHeader(std::string_view header, uint64_t data_size);
  Status CheckLayout(uint64_t data_size) const;
  void MakeViews(const uint8_t* data);

  MappedFile file_;
  const uint8_t* data_ = nullptr;  // the data section
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> views_;
  std::vector<std::unique_ptr<uint64_t[]>> aligned_copies_;  // for misaligned tensors
};

// The tensors of a Hugging Face checkpoint folder: `model.safetensors` when present, else the
// shards that `model.safetensors.index.json` lists (its weight_map is authoritative: each listed
// tensor must be in the named shard; shard names must be plain file names in the folder).
class SafetensorsWeightSource : public WeightSource {
 public:
  static StatusOr<std::shared_ptr<SafetensorsWeightSource>> Open(const std::string& dir);
  // One file, without a folder convention.
  static StatusOr<std::shared_ptr<SafetensorsWeightSource>> OpenFile(const std::string& path);

  const std::map<std::string, TensorView>& tensors() const override { return tensors_; }
  std::vector<std::string> files() const override;
  std::string UnsupportedDType(const std::string& name) const override;
  void ReleasePages(const void* p, size_t bytes) const override;

  // A vision-language checkpoint (Gemma 3's Gemma3ForConditionalGeneration) holds its language
  // model under a prefix: language_model.model.* and language_model.lm_head.* (transformers'
  // saved form), or model.language_model.* (its in-memory one). Where the tensors have such
  // names, they take a text model's (model.*, lm_head.*) and the vision tower's and projector's
  // are dropped; otherwise nothing changes. INVALID_ARGUMENT where a renamed tensor meets one of
  // the same name.
  Status SelectLanguageModel();

  // The tensors a checkpoint stacks (CheckpointLayout's file tensors of several pieces: Granite
  // MoE's and gpt-oss's experts) shown as their pieces, each a run of the stack's rows under its
  // own name (or, from a transposed stack, a rearranged copy, the stack's pages then released), in
  // place of the stack; gpt-oss's MXFP4 stacks (<stack>_blocks and <stack>_scales, U8) as MXFP4
  // copies of each expert's matrices. NOT_FOUND / INVALID_ARGUMENT naming a stack that is missing
  // or of another shape.
  Status ApplyLayout(const std::vector<FileTensor>& layout);

 private:
  Status OpenIndex(const std::string& dir, const std::string& index_path);
  // A U8 tensor of the files, which must have `shape`.
  StatusOr<std::span<const uint8_t>> U8Tensor(const std::string& name,
                                              const std::vector<int64_t>& shape) const;
  // The pieces of transposed stack `f` from its MXFP4 form (checkpoint_layout.h).
  Status AddMxfp4Pieces(const FileTensor& f);
  void AddFile(std::unique_ptr<SafetensorsFile> file);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> unsupported_;  // name -> dtype name
  std::vector<std::vector<uint8_t>> owned_;         // pieces copied out of transposed stacks
};

// A tensor to write: dtype is a safetensors name ("F32", "BF16", ...).
struct SafetensorsTensorInfo {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};

// Streams a .safetensors file: the header is laid out from the full tensor list up front, then the
// data is appended in the same order in chunks of any size; Finish() checks the byte count, fsyncs
// and renames the temporary file into place, so readers never see a partial file. A writer
// destroyed before Finish() removes its temporary file, and so does a process that
// RemoveTempFilesOnSignals stops (temp_files.h).
class SafetensorsWriter {
 public:
  static StatusOr<std::unique_ptr<SafetensorsWriter>> Create(
      const std::string& path, const std::vector<SafetensorsTensorInfo>& tensors,
      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  Status Write(std::string_view bytes);
  Status Finish();

  uint64_t data_bytes_total() const { return total_; }
  uint64_t data_bytes_written() const { return written_; }

 private:
  SafetensorsWriter(std::string path, std::string tmp_path, int fd, uint64_t total)
      : path_(std::move(path)), tmp_path_(std::move(tmp_path)), fd_(fd), total_(total) {}
  Status WriteRaw(std::string_view bytes);

  std::string path_;
  std::string tmp_path_;
  TempFileGuard tmp_guard_{tmp_path_};  // removed if SIGINT/SIGTERM ends the process mid-write
  int fd_ = -1;
  uint64_t total_ = 0;
  uint64_t written_ = 0;
};

// Writes a whole file at once; each bytes.size() must match its dtype and shape.
struct SafetensorsTensorData {
  SafetensorsTensorInfo info;
  std::string_view bytes;
};
Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsTensorData>& tensors,
                        const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_SAFETENSORS_H_
