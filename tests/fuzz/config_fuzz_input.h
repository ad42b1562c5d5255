// The input format shared by the config fuzz targets: a main config followed by up to
// kMaxFiles included files, separated by lines "##FILE". Segment k becomes /cfg/inck.conf
// (odd k: /cfg/sub/inck.conf) in an in-memory file system and the main text is read as
// /cfg/keepalived.conf, so fuzzed include patterns reach those files and can never touch the
// real file system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/reader.h"
#include "fuzz/memory_file_system.h"

namespace vigil::testing {

struct ConfigFuzzInput {
  std::string main_text;
  config::ReaderOptions options;
};

inline ConfigFuzzInput split_config_fuzz_input(const uint8_t* data, size_t size) {
  constexpr size_t kMaxFiles = 8;
  constexpr std::string_view kSeparator = "\n##FILE\n";
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto fs = std::make_shared<MemoryFileSystem>();
  size_t end = input.find(kSeparator);
  ConfigFuzzInput out;
  out.main_text = std::string(input.substr(0, end));
  for (size_t k = 0; end != std::string_view::npos && k < kMaxFiles; ++k) {
    size_t start = end + kSeparator.size();
    end = input.find(kSeparator, start);
    std::string path =
        std::string("/cfg/") + (k % 2 ? "sub/" : "") + "inc" + std::to_string(k) + ".conf";
    size_t length = end == std::string_view::npos ? std::string_view::npos : end - start;
    fs->add(path, std::string(input.substr(start, length)));
  }
  fs->add("/cfg/keepalived.conf", out.main_text);
  // Limits keep one input fast under the sanitizers; they are the reader's real guards, lowered.
  out.options = {.config_id = "lb1",
                 .base_directory = "/cfg",
                 .random_seed = 1,
                 .max_generated_lines = 5000,
                 .max_included_files = 64,
                 .file_system = fs};
  return out;
}

}  // namespace vigil::testing
