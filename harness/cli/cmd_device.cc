// sigma-eval device: what compute this build can use.
#include <cstdio>
#include <optional>

#include "engine/base/system_memory.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/thread_pool.h"
#include "engine/cuda/cuda_backend.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"

namespace sigma::cli {

int RunDevice(const Args& args) {
  Flags flags("device", "sigma-eval device", "Describes the CPU kernels and the CUDA device, if any.");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  ThreadPool pool;
  std::printf("cpu: %d threads, kernels %s\n", pool.size(), MatMulIsa());
  // Decode streams its weights and KV cache from huge pages where the kernel grants them
  // (engine/base/large_buffer.h); "never" or "unavailable" costs ~10% of decode speed on a VM.
  std::printf("transparent huge pages: %s\n", TransparentHugePagesMode().c_str());
  StatusOr<std::string> gpu = cuda::DescribeDevice();
  std::printf("cuda: %s\n", gpu.ok() ? gpu->c_str() : gpu.status().message().c_str());
  return kExitOk;
}

}  // namespace sigma::cli
