#include "control/config_check.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "check/validate.h"
#include "config/json.h"
#include "config/parser.h"

namespace vigil::control {
namespace {

std::string plural(size_t count, const char* noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

void summarize(std::ostream& err, const std::string& file, size_t errors, size_t warnings,
               const char* verdict) {
  err << file << ": " << plural(errors, "error") << ", " << plural(warnings, "warning") << ": "
      << verdict << "\n";
}

}  // namespace

std::optional<std::string> unreadable_config(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    return std::filesystem::exists(file, ec) ? "not a regular file" : "no such file";
  // Permissions (vigild runs as root, vigilctl may not).
  if (std::ifstream probe(file); !probe) return std::string(std::strerror(errno));
  return std::nullopt;
}

std::variant<std::unique_ptr<config::Parsed>, int> load_valid_config(const std::string& file,
                                                                     const std::string& config_id,
                                                                     std::string_view rejected,
                                                                     std::ostream& err) {
  if (auto why = unreadable_config(file)) {
    err << file << ": cannot read configuration file: " << *why << "\n";
    return kCtlConfigUnreadable;
  }
  config::ParseOptions options;
  options.reader.config_id = config_id;
  auto parsed = config::parse_file(file, options);
  if (parsed->diagnostics.has_errors()) {
    err << parsed->diagnostics.format(parsed->files);
    err << file << ": configuration rejected" << rejected << "\n";
    return kCtlConfigErrors;
  }
  return parsed;
}

int run_config_check(const ConfigCheckRequest& request, std::ostream& out, std::ostream& err) {
  if (auto why = unreadable_config(request.file)) {
    err << request.file << ": cannot read configuration file: " << *why << "\n";
    return kConfigCannotRun;
  }
  config::ParseOptions options;
  options.reader.config_id = request.config_id;
  auto parsed = config::parse_file(request.file, options);
  // Checker regexes PCRE2 rejects are errors here, at their line: at run time they would fail
  // the whole checker load (keepalived 2.2.7's -t misses them and its checker logs them). So is
  // an SSL_GET client identity that does not load (a wrong password, a mismatched key): every
  // probe would be "not run" (keepalived 2.2.7's checker process exits on its global SSL block).
  if (!parsed->diagnostics.has_errors()) {
    for (auto& bad : check::check_config(parsed->config))
      parsed->diagnostics.error(bad.location, std::move(bad.message));
  }
  err << parsed->diagnostics.format(parsed->files);
  const auto& d = parsed->diagnostics;
  if (d.has_errors()) {
    summarize(err, request.file, d.error_count(), d.warning_count(), "configuration rejected");
    return kConfigErrors;
  }
  if (request.dump_json) {  // what vigil understood, before any script is judged
    out << config::to_json_text(parsed->config);
    return kConfigOk;
  }
  const ScriptAuditEnvironment system = system_script_environment();
  const ScriptAudit audit =
      audit_scripts(parsed->config, request.scripts ? *request.scripts : system);
  err << audit.diagnostics.format(parsed->files);
  const size_t errors = audit.diagnostics.error_count();
  const size_t warnings = d.warning_count() + audit.diagnostics.warning_count();
  if (audit.scripts_without_security) {
    summarize(err, request.file, errors, warnings,
              "scripts run without enable_script_security (exit 6, as keepalived)");
    return kConfigScriptSecurity;
  }
  if (errors > 0) {
    summarize(err, request.file, errors, warnings, "scripts refused (they would not run)");
    return kConfigErrors;
  }
  err << request.file << ": configuration OK";
  if (warnings > 0) err << " (" << plural(warnings, "warning") << ")";
  err << "\n";
  return kConfigOk;
}

std::string default_config_file() {
  for (const char* candidate : {"/etc/vigil/vigil.conf", "/etc/keepalived/keepalived.conf"}) {
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) return candidate;
  }
  return "/etc/vigil/vigil.conf";
}

std::string short_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  std::string host(name);
  return host.substr(0, host.find('.'));
}

}  // namespace vigil::control
