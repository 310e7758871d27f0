#include "harness/build_info.h"

#include <unistd.h>

#include "engine/base/status.h"
#include "engine/cpu/matmul.h"
#include "engine/cuda/cuda_backend.h"
#include "harness/git_commit.h"  // generated at build time (harness/CMakeLists.txt)

namespace sigma {

std::string EngineBuild() {
  return StrCat("sigma-eval ", SIGMA_EVAL_VERSION, " (git ", SIGMA_GIT_COMMIT, ", ",
                SIGMA_BUILD_TYPE, ", cpu ", MatMulIsa(), cuda::Compiled() ? ", cuda" : "", ")");
}

std::string HostName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) return "unknown";
  return host;
}

}  // namespace sigma
