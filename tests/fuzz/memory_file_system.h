// An in-memory ConfigFileSystem: the config fuzz target reads includes from it so that fuzzed
// include patterns can never reach the real file system; unit tests use it too.
#pragma once

#include <fnmatch.h>

#include <map>
#include <string>
#include <vector>

#include "config/reader.h"

namespace vigil::testing {

class MemoryFileSystem final : public config::ConfigFileSystem {
 public:
  void add(const std::string& path, std::string text) { files_[path] = std::move(text); }

  std::vector<std::string> glob(const std::string& pattern) override {
    std::vector<std::string> out;
    for (const auto& [path, text] : files_) {
      if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) {
        out.push_back(path);
      }
    }
    return out;  // std::map keeps them sorted, as glob(3) does
  }

  Result<config::FileContents> read(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Error{"No such file or directory"};
    return config::FileContents{it->second, path};
  }

  std::string absolute(const std::string& directory) override {
    return directory.empty() || directory == "." ? std::string("/") : directory;
  }

 private:
  std::map<std::string, std::string> files_;
};

}  // namespace vigil::testing
