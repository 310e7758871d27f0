// Build identity recorded with every run and bench row: version, git commit at configure time,
// build type and the CPU kernel path, e.g. "sigma-eval 0.1.0 (git 6c776cb, Release, cpu avx512_bf16)".
#ifndef SIGMA_HARNESS_BUILD_INFO_H_
#define SIGMA_HARNESS_BUILD_INFO_H_

#include <string>

namespace sigma {

std::string EngineBuild();
std::string HostName();

}  // namespace sigma

#endif  // SIGMA_HARNESS_BUILD_INFO_H_
