// Golden files under tests/data/api/: VIGIL_UPDATE_GOLDEN=1 rewrites them (then review the diff).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::api::testing {

inline std::string read_golden(const std::string& name) {
  std::ifstream in(std::filesystem::path(VIGIL_TEST_DATA_DIR) / "api" / name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void expect_golden(const std::string& name, const std::string& actual) {
  if (std::getenv("VIGIL_UPDATE_GOLDEN") != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    std::ofstream(std::filesystem::path(VIGIL_TEST_DATA_DIR) / "api" / name) << actual;
  }
  EXPECT_EQ(actual, read_golden(name)) << "golden file tests/data/api/" << name;
}

}  // namespace vigil::api::testing
