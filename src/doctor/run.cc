#include "doctor/run.h"

#include <fmt/format.h>

#include <algorithm>
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

int run_doctor(const DoctorRequest& request, const Host* host, std::ostream& out,
               std::ostream& err) {
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
  return exit_code(findings);
}

}  // namespace vigil::doctor
