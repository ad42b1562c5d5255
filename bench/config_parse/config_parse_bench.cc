// Times vigil's parse + validate of one file in-process (no process start-up in the figure).
// Usage: bench_config_parse FILE [RUNS]. Prints min and median wall time in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "config/parser.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 2 ? std::atoi(argv[2]) : 10;
  std::vector<double> ms;
  for (int i = 0; i < std::max(runs, 1); ++i) {
    auto start = std::chrono::steady_clock::now();
    auto parsed = vigil::config::parse_file(argv[1]);
    auto end = std::chrono::steady_clock::now();
    if (!parsed->ok()) {
      std::fprintf(stderr, "%s", parsed->diagnostics.format(parsed->files).c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("runs=%zu min_ms=%.2f median_ms=%.2f\n", ms.size(), ms.front(), ms[ms.size() / 2]);
  return 0;
}
