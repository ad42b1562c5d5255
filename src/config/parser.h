// Reads a keepalived-syntax configuration into the typed model and validates it.
//
// Two phases, as keepalived's users expect: parse everything (reporting every error with
// file:line:col, never stopping at the first), then resolve defaults and check cross-references.
// The caller applies the result only when diagnostics has no errors (a bad reload keeps the
// running config).
#pragma once

#include <memory>
#include <string>

#include "config/diagnostics.h"
#include "config/model.h"
#include "config/reader.h"

namespace vigil::config {

struct ParseOptions {
  ReaderOptions reader;
};

struct Parsed {
  Config config;
  SourceFiles files;
  Diagnostics diagnostics;
  [[nodiscard]] bool ok() const { return !diagnostics.has_errors(); }
};

std::unique_ptr<Parsed> parse_file(const std::string& path, const ParseOptions& options = {});
std::unique_ptr<Parsed> parse_text(std::string name, std::string text,
                                   const ParseOptions& options = {});

}  // namespace vigil::config
