// libFuzzer target: the full config parse + validate on arbitrary text (format:
// config_fuzz_input.h).
#include <cstdint>

#include "config/parser.h"
#include "fuzz/config_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = vigil::testing::split_config_fuzz_input(data, size);
  auto parsed = vigil::config::parse_text("/cfg/keepalived.conf", std::move(input.main_text),
                                          {.reader = input.options});
  (void)parsed->diagnostics.format(parsed->files);
  return 0;
}
