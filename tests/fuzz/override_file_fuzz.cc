// libFuzzer target: the overrides' state file reader (lvs/overrides.h parse_override_file) on
// arbitrary bytes. Every input is either refused with an error naming the file, or read into
// overrides that write back to a file reading as the same overrides.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lvs/overrides.h"

namespace {

void check(bool invariant) {
  if (!invariant) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = vigil::lvs::parse_override_file(text, "state.conf");
  if (!parsed) {
    check(parsed.error().message.starts_with("state.conf"));
    return 0;
  }
  check(parsed->size() <= vigil::lvs::kMaxOverrides);
  const std::string written = vigil::lvs::format_override_file(*parsed);
  auto again = vigil::lvs::parse_override_file(written, "state.conf");
  check(again.ok() && *again == *parsed);
  return 0;
}
