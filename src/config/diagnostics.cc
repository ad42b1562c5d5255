#include "config/diagnostics.h"

namespace vigil::config {

std::string SourceFiles::format(const SourceLocation& loc) const {
  std::string out = loc.file < paths_.size() ? paths_[loc.file] : std::string("<unknown>");
  if (loc.line == 0) return out;  // about the file as a whole
  out += ':';
  out += std::to_string(loc.line);
  out += ':';
  out += std::to_string(loc.column);
  return out;
}

std::string Diagnostics::format(const SourceFiles& files) const {
  std::string out;
  for (const auto& d : items_) {
    out += files.format(d.location);
    out += d.severity == Severity::kError ? ": error: " : ": warning: ";
    out += d.message;
    out += '\n';
  }
  return out;
}

}  // namespace vigil::config
