#include "doctor/run.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "config/parser.h"
#include "control/config_check.h"
#include "control/exit_codes.h"

namespace vigil::doctor {

namespace {

std::string upper(Level level) {
  std::string s(to_string(level));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

}  // namespace

std::string render_text(const std::vector<Finding>& findings, const RunSummary* run) {
  std::string out;
  size_t counts[3] = {0, 0, 0};
  for (const auto& f : findings) {
    ++counts[static_cast<size_t>(f.level)];
    out += fmt::format("{:<4} {:<32} {}: {}", upper(f.level), f.check, f.subject, f.found);
    if (!f.location.empty()) out += fmt::format(" [{}]", f.location);
    out += fmt::format(" - {}", f.why);
    if (!f.fix.empty()) out += fmt::format("; fix: {}", f.fix);
    out += '\n';
  }
  out += fmt::format("{} checks: {} ok, {} warn, {} fail", findings.size(), counts[0], counts[1],
                     counts[2]);
  if (run) {
    out += fmt::format(" in {:.1f} s", std::chrono::duration<double>(run->elapsed).count());
    out += run->probes ? " (active probes included; --no-probes skips them)"
                       : " (active probes skipped)";
  }
  out += '\n';
  return out;
}

std::string render_json(const std::string& file, const std::vector<Finding>& findings) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  size_t counts[3] = {0, 0, 0};
  for (const auto& f : findings) {
    ++counts[static_cast<size_t>(f.level)];
    list.push_back({{"check", f.check},
                    {"level", to_string(f.level)},
                    {"subject", f.subject},
                    {"location", f.location},
                    {"found", f.found},
                    {"why", f.why},
                    {"fix", f.fix}});
  }
  nlohmann::ordered_json doc = {
      {"schema", kJsonSchema},
      {"config", file},
      {"summary", {{"ok", counts[0]}, {"warn", counts[1]}, {"fail", counts[2]}}},
      {"findings", std::move(list)}};
  return doc.dump(2) + "\n";
}

int exit_code(const std::vector<Finding>& findings) {
  const bool fails = std::any_of(findings.begin(), findings.end(),
                                 [](const Finding& f) { return f.level == Level::kFail; });
  return fails ? control::kCtlDegraded : control::kCtlOk;
}

Status LinuxSysctlWriter::write(const std::string& name, const std::string& value) {
  const std::string path = sysctl_path(name);
  if (path.empty()) return Error{"not a sysctl name: " + name};
  // /proc/sys holds no symbolic links: O_NOFOLLOW refuses one that is not the kernel's file.
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_error(path, errno);
  const std::string line = value + "\n";
  const ssize_t written = ::write(fd, line.data(), line.size());
  const int saved = errno;
  ::close(fd);
  if (written < 0) return errno_error(path, saved);
  if (static_cast<size_t>(written) != line.size()) return Error{path + ": short write"};
  return {};
}

namespace {

// The fixes --fix applies: each sysctl once, from the WARN and FAIL findings in their order.
std::vector<SysctlFix> fixes_to_apply(const std::vector<Finding>& findings) {
  std::vector<SysctlFix> fixes;
  for (const auto& finding : findings) {
    if (finding.level == Level::kOk) continue;
    for (const auto& fix : finding.sysctl_fixes) {
      const bool seen = std::any_of(fixes.begin(), fixes.end(),
                                    [&](const SysctlFix& f) { return f.name == fix.name; });
      if (!seen) fixes.push_back(fix);
    }
  }
  return fixes;
}

}  // namespace

int run_doctor(const DoctorRequest& request, const Host* host, std::ostream& out, std::ostream& err,
               SysctlWriter* writer) {
  if (request.fix && request.json) {
    err << "vigilctl doctor: --fix prints what it changes: it does not combine with --json\n";
    return control::kCtlUsage;
  }
  auto loaded = control::load_valid_config(
      request.file, request.config_id,
      ": doctor judges only a valid configuration (vigilctl check-config)", err);
  if (const int* code = std::get_if<int>(&loaded)) return *code;
  const auto parsed = std::move(std::get<std::unique_ptr<config::Parsed>>(loaded));
  std::optional<LinuxHost> linux_host;
  if (!host) host = &linux_host.emplace();
  if (auto why = host->unusable()) {
    err << "vigilctl doctor: cannot examine this host: " << *why << "\n";
    return control::kCtlCannotRun;
  }
  // The shell's clock: only the printed duration depends on it.
  const auto start = std::chrono::steady_clock::now();
  const Facts facts = gather(parsed->config, wants(parsed->config, request.probes), *host);
  const RunSummary run{
      .probes = facts.probes.has_value(),
      .elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start)};
  const auto findings = diagnose(parsed->config, parsed->files, facts);
  out << (request.json ? render_json(request.file, findings) : render_text(findings, &run));
  if (!request.fix) return exit_code(findings);

  const auto fixes = fixes_to_apply(findings);
  if (fixes.empty()) {
    out << "\n--fix: nothing to apply (it applies only this director's sysctl fixes)\n";
    return exit_code(findings);
  }
  out << "\n--fix: applying " << fixes.size() << " sysctl fix" << (fixes.size() == 1 ? "" : "es")
      << " (at run time only; persist them in /etc/sysctl.d/90-vigil.conf):\n";
  std::optional<LinuxSysctlWriter> linux_writer;
  if (!writer) writer = &linux_writer.emplace();
  for (const auto& fix : fixes) {
    out << "  sysctl -w " << fix.name << "=" << fix.value;
    if (auto done = writer->write(fix.name, fix.value); !done)
      out << ": FAILED: " << done.error().message;
    out << "\n";
  }
  // Judged again; the probes are not run again (a sysctl here changes none of what they found on
  // the wire) but their findings stay.
  Facts after = gather(parsed->config, wants(parsed->config, false), *host);
  after.routes = facts.routes;
  after.probes = facts.probes;
  const auto findings_after = diagnose(parsed->config, parsed->files, after);
  out << "\nAfter --fix:\n" << render_text(findings_after);
  return exit_code(findings_after);
}

}  // namespace vigil::doctor
