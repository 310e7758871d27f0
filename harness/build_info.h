// Build identity recorded with every run and bench row and printed by `sigma-eval --version`:
// version, the git commit built (stamped at build time; "-dirty" where tracked files differed from
// it), build type, the CPU kernel path and whether CUDA is compiled in, e.g.
// "sigma-eval 0.1.0 (git 6c776cb, Release, cpu avx512_amx, cuda)".
#ifndef SIGMA_HARNESS_BUILD_INFO_H_
#define SIGMA_HARNESS_BUILD_INFO_H_

#include <string>

namespace sigma {

std::string EngineBuild();

// The machine, as runs and bench rows record it: the host name, the CPU model and the online CPU
// count, e.g. "vm (Intel(R) Xeon(R) Processor, 2 CPUs)", so that figures from two machines that
// share a host name (cloud VMs) are told apart (reports' compare warns where hosts differ). The
// CPU model is /proc/cpuinfo's first "model name", left out where there is none.
std::string HostName();

// The "model name" value of a /proc/cpuinfo text ("" where it has none); for HostName.
std::string CpuModelName(const std::string& cpuinfo);

}  // namespace sigma

#endif  // SIGMA_HARNESS_BUILD_INFO_H_
