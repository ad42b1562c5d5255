#include "daemon/config_check.h"

#include <filesystem>
#include <ostream>

#include "config/json.h"
#include "config/parser.h"

namespace vigil::daemon {

int run_config_check(const ConfigCheckRequest& request, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(request.file, ec)) {
    err << request.file << ": cannot read configuration file: "
        << (std::filesystem::exists(request.file, ec) ? "not a regular file" : "no such file")
        << "\n";
    return kConfigCannotRun;
  }
  config::ParseOptions options;
  options.reader.config_id = request.config_id;
  auto parsed = config::parse_file(request.file, options);
  err << parsed->diagnostics.format(parsed->files);
  const auto& d = parsed->diagnostics;
  if (d.has_errors()) {
    err << request.file << ": " << d.error_count() << " error" << (d.error_count() == 1 ? "" : "s")
        << ", " << d.warning_count() << " warning" << (d.warning_count() == 1 ? "" : "s")
        << ": configuration rejected\n";
    return kConfigErrors;
  }
  if (request.dump_json) {
    out << config::to_json_text(parsed->config);
  } else {
    err << request.file << ": configuration OK";
    if (d.warning_count() > 0) {
      err << " (" << d.warning_count() << " warning" << (d.warning_count() == 1 ? "" : "s") << ")";
    }
    err << "\n";
  }
  return kConfigOk;
}

}  // namespace vigil::daemon
