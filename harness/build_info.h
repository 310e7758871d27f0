// Build identity recorded with every run and bench row and printed by `sigma-eval --version`:
// version, the git commit built (stamped at build time; "-dirty" where tracked files differed from
// it), build type, the CPU kernel path and whether CUDA is compiled in, e.g.
// "sigma-eval 0.1.0 (git 6c776cb, Release, cpu avx512_amx, cuda)".
#ifndef SIGMA_HARNESS_BUILD_INFO_H_
#define SIGMA_HARNESS_BUILD_INFO_H_

#include <string>

namespace sigma {

std::string EngineBuild();
std::string HostName();

}  // namespace sigma

#endif  // SIGMA_HARNESS_BUILD_INFO_H_
