// sigma-eval convert: a Hugging Face checkpoint folder to one GGUF file, or a GGUF file back to a
// checkpoint folder (engine/gguf/convert.h holds the logic; this is the flag layer).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/temp_files.h"
#include "engine/gguf/convert.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"

namespace sigma::cli {

int RunConvert(const Args& args) {
  std::string in;
  std::string out;
  std::string type;
  bool force = false;
  Flags flags("convert", "sigma-eval convert --in PATH --out PATH [--type TYPE]",
              "Converts a checkpoint folder (config.json + safetensors) to GGUF, or a GGUF file to\n"
              "a checkpoint folder (config.json + model.safetensors). Llama Q/K rows are permuted\n"
              "as llama.cpp expects (and un-permuted on the way back); quantized tensors are\n"
              "dequantized to f32 (or --type) for a folder. Without --type, tensors keep their type.\n"
              "A quantized --type applies to the matrices (rows that are not whole blocks of it\n"
              "fall back to q8_0 or f16); norms and biases stay f32.");
  flags.String("in", &in, "checkpoint folder or .gguf file");
  flags.String("out", &out, "output .gguf file (from a folder) or folder (from a .gguf)");
  flags.String(
      "type", &type,
      "matrix type: f32, f16, bf16, or for GGUF q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
      "q5_k, q6_k, iq4_nl, iq4_xs (every matrix), mxfp4 (a mixture's experts; the rest as stored), "
      "or "
      "llama-quantize's mixes q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m; default: "
      "as stored");
  flags.Bool("force", &force, "replace an existing --out (a file, or a folder's model files)");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  RemoveTempFilesOnSignals();  // a stopped write leaves no partial model behind
  if (IsDirectory(in) && IsDirectory(out)) {
    return ReportError("convert", InvalidArgumentError("--out: ", out,
                                                       " is a folder; a checkpoint folder converts "
                                                       "to one .gguf file"));
  }
  if (Status s = CheckOutputFree(out, force); !s.ok()) return ReportError("convert", s);
  ConvertOptions options;
  if (!type.empty()) {
    StatusOr<ConvertOptions> parsed = ParseConvertType(type, "type");
    if (!parsed.ok()) return ReportError("convert", parsed.status());
    options = *parsed;
  }
  std::vector<std::string> notes;
  if (Status s = Convert(in, out, options, &notes); !s.ok()) return ReportError("convert", s);
  std::fprintf(stderr, "wrote %s\n", out.c_str());
  for (const std::string& note : notes)
    std::fprintf(stderr, "note: %s: %s\n", out.c_str(), note.c_str());
  return kExitOk;
}

}  // namespace sigma::cli
