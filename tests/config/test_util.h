// Helpers for parser tests: parse a text and look at its diagnostics.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"

namespace vigil::config::testing {

inline std::unique_ptr<Parsed> parse(std::string text, ParseOptions options = {}) {
  return parse_text("test.conf", std::move(text), options);
}

// "line:col: message" of every error, for compact expectations.
inline std::vector<std::string> errors(const Parsed& parsed) {
  std::vector<std::string> out;
  for (const auto& d : parsed.diagnostics.items()) {
    if (d.severity != Severity::kError) continue;
    out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.column) + ": " +
                  d.message);
  }
  return out;
}

inline std::vector<std::string> warnings(const Parsed& parsed) {
  std::vector<std::string> out;
  for (const auto& d : parsed.diagnostics.items()) {
    if (d.severity != Severity::kWarning) continue;
    out.push_back(std::to_string(d.location.line) + ":" + std::to_string(d.location.column) + ": " +
                  d.message);
  }
  return out;
}

// Expects the text to parse without errors; returns the model.
inline const Config& parse_ok(std::unique_ptr<Parsed>& holder, std::string text) {
  holder = parse(std::move(text));
  EXPECT_TRUE(holder->ok()) << holder->diagnostics.format(holder->files);
  return holder->config;
}

}  // namespace vigil::config::testing
