// Reading this process's /proc/self/smaps in tests: the flags and the resident size of the mapping
// that holds an address.
#ifndef SIGMA_TESTS_ENGINE_BASE_SMAPS_H_
#define SIGMA_TESTS_ENGINE_BASE_SMAPS_H_

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace sigma::testing {

// The line starting with `field` ("VmFlags:", "Rss:") of the mapping that holds `p`; "" if no
// mapping holds it.
inline std::string SmapsField(const void* p, const std::string& field) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long long start = 0, end = 0;
    char dash = 0;
    std::istringstream header(line);
    if (header >> std::hex >> start >> dash >> end && dash == '-') {
      inside = start <= address && address < end;
    } else if (inside && line.rfind(field, 0) == 0) {
      return line;
    }
  }
  return "";
}

// The VmFlags line of the mapping that holds `p` ("" if none does).
inline std::string VmFlagsOf(const void* p) { return SmapsField(p, "VmFlags:"); }

// The resident size of the mapping that holds `p`, in KiB (-1 if none does).
inline int64_t RssKibOf(const void* p) {
  const std::string line = SmapsField(p, "Rss:");
  return line.empty() ? -1 : std::stoll(line.substr(4));
}

}  // namespace sigma::testing

#endif  // SIGMA_TESTS_ENGINE_BASE_SMAPS_H_
