// What /proc says about this process, for the checker benchmarks.
#pragma once

#include <cstdlib>
#include <fstream>
#include <string>

namespace vigil::bench {

// VmRSS of this process, in KiB (0 when /proc cannot be read).
inline long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

}  // namespace vigil::bench
