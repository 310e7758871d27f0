#include "harness/build_info.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "engine/base/status.h"
#include "engine/cpu/matmul.h"
#include "engine/cuda/cuda_backend.h"
#include "harness/git_commit.h"  // generated at build time (harness/CMakeLists.txt)

namespace sigma {

std::string EngineBuild() {
  return StrCat("sigma-eval ", SIGMA_EVAL_VERSION, " (git ", SIGMA_GIT_COMMIT, ", ",
                SIGMA_BUILD_TYPE, ", cpu ", MatMulIsa(), cuda::Compiled() ? ", cuda" : "", ")");
}

std::string CpuModelName(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t begin = line.find_first_not_of(" \t", colon + 1);
    const size_t end = line.find_last_not_of(" \t\r");
    return begin == std::string::npos ? "" : line.substr(begin, end - begin + 1);
  }
  return "";
}

std::string HostName() {
  char host[256] = {0};
  std::string name = ::gethostname(host, sizeof(host) - 1) == 0 ? host : "unknown";
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream cpuinfo;
  cpuinfo << in.rdbuf();
  const std::string model = CpuModelName(cpuinfo.str());
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return StrCat(name, " (", model.empty() ? "" : model + ", ", cpus,
                cpus == 1 ? " CPU)" : " CPUs)");
}

}  // namespace sigma
