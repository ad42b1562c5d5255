// Where a token came from, and the errors and warnings found while reading a config.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::config {

// Positions are 1-based. A token produced by macro expansion carries the position of the
// macro's use; a token from an included file carries that file's position.
struct SourceLocation {
  uint32_t file = 0;  // index into SourceFiles
  uint32_t line = 0;
  uint32_t column = 0;
  bool operator==(const SourceLocation&) const = default;
};

// For test failure messages.
inline std::ostream& operator<<(std::ostream& out, const SourceLocation& loc) {
  return out << loc.file << ':' << loc.line << ':' << loc.column;
}

class SourceFiles {
 public:
  uint32_t add(std::string path) {
    paths_.push_back(std::move(path));
    return static_cast<uint32_t>(paths_.size() - 1);
  }
  [[nodiscard]] const std::string& path(uint32_t file) const { return paths_.at(file); }
  [[nodiscard]] size_t size() const { return paths_.size(); }
  // "file:line:col"
  [[nodiscard]] std::string format(const SourceLocation& loc) const;

 private:
  std::vector<std::string> paths_;
};

enum class Severity : uint8_t { kError, kWarning };

struct Diagnostic {
  Severity severity;
  SourceLocation location;
  std::string message;
};

class Diagnostics {
 public:
  void error(const SourceLocation& loc, std::string message) {
    items_.push_back({Severity::kError, loc, std::move(message)});
    ++errors_;
  }
  void warning(const SourceLocation& loc, std::string message) {
    items_.push_back({Severity::kWarning, loc, std::move(message)});
  }
  [[nodiscard]] bool has_errors() const { return errors_ > 0; }
  [[nodiscard]] size_t error_count() const { return errors_; }
  [[nodiscard]] size_t warning_count() const { return items_.size() - errors_; }
  [[nodiscard]] const std::vector<Diagnostic>& items() const { return items_; }
  // One line per diagnostic: "file:line:col: error: message".
  [[nodiscard]] std::string format(const SourceFiles& files) const;

 private:
  std::vector<Diagnostic> items_;
  size_t errors_ = 0;
};

}  // namespace vigil::config
