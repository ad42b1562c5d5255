// libFuzzer target: the config reader on arbitrary text (format: config_fuzz_input.h), checking
// the promises it makes to the parser on every logical line.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/reader.h"
#include "fuzz/config_fuzz_input.h"

namespace {

using namespace vigil::config;

void check(bool invariant) {
  if (!invariant) std::abort();
}

void check_line(const LogicalLine& line, const SourceFiles& files) {
  check(!line.tokens.empty());
  for (const auto& token : line.tokens) {
    check(token.loc.file < files.size());
    check(token.loc.line > 0 && token.loc.column > 0);
    check(token.offset <= line.text.size());
  }
  check(line.tokens.front().offset == 0);
  if (line.is_open() || line.is_close()) check(line.text.size() == 1);
  (void)line.rest(line.tokens.size() - 1);
  std::vector<std::string> argv;
  (void)split_command_line(line.text, argv);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = vigil::testing::split_config_fuzz_input(data, size);
  SourceFiles files;
  Diagnostics diagnostics;
  Reader reader(files, diagnostics, input.options);
  reader.open_text("/cfg/keepalived.conf", input.main_text);
  LogicalLine line;
  while (const LogicalLine* ahead = reader.peek()) {
    check_line(*ahead, files);
    check(reader.next(line));
    check_line(line, files);
  }
  (void)diagnostics.format(files);
  return 0;
}
