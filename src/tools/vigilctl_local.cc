// vigilctl-local: the vigilctl commands that work on files and on this host, without vigild.
// vigilctl runs it for them (src/tools/usage.h says why there are two programs); it takes the
// command and its arguments as vigilctl got them:
//
//   vigilctl-local check-config|dump-config [-f FILE] [-i ID]
//   vigilctl-local config check|show [-f FILE] [-i ID]
//   vigilctl-local doctor [-f FILE] [-i ID] [--json] [--no-probes] [--fix]
//   vigilctl-local genhash -s ADDR -p PORT -u URL [...]
//   vigilctl-local rs-setup [VS] [--mode M] [--format F] [--vip ADDR]... [--check] [-f FILE]
//                           [-i ID]
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "config/parser.h"
#include "control/config_check.h"
#include "control/exit_codes.h"
#include "doctor/rs_setup.h"
#include "doctor/run.h"
#include "tools/genhash.h"
#include "tools/usage.h"

namespace {

using vigil::tools::usage_error;

// check-config / dump-config [-f FILE] [-i ID]: args[0] is the command.
int run_config(const std::vector<std::string>& args) {
  using namespace vigil::control;
  const std::string& command = args[0];
  ConfigCheckRequest request{.dump_json = command == "dump-config"};
  for (size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "-f" || args[i] == "-i") && i + 1 < args.size()) {
      (args[i] == "-f" ? request.file : request.config_id) = args[i + 1];
      ++i;
    } else {
      return usage_error(command + ": unexpected argument '" + args[i] + "'");
    }
  }
  if (request.file.empty()) request.file = default_config_file();
  if (request.config_id.empty()) request.config_id = short_host_name();
  return run_config_check(request, std::cout, std::cerr);
}

// doctor [-f FILE] [-i ID] [--json] [--no-probes] [--fix]
int run_doctor(const std::vector<std::string>& args) {
  vigil::doctor::DoctorRequest request;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-f" || args[i] == "-i") && i + 1 < args.size()) {
      (args[i] == "-f" ? request.file : request.config_id) = args[i + 1];
      ++i;
    } else if (args[i] == "--json") {
      request.json = true;
    } else if (args[i] == "--no-probes") {
      request.probes = false;
    } else if (args[i] == "--fix") {
      request.fix = true;
    } else {
      return usage_error(
          "doctor [-f FILE] [-i ID] [--json] [--no-probes] [--fix]: unexpected argument '" +
          args[i] + "'");
    }
  }
  if (request.file.empty()) request.file = vigil::control::default_config_file();
  if (request.config_id.empty()) request.config_id = vigil::control::short_host_name();
  return vigil::doctor::run_doctor(request, nullptr, std::cout, std::cerr);
}

constexpr const char* kRsSetupUsage =
    "rs-setup VS [--mode dr|tun|nat|fullnat] [--format shell|sysctl|networkd] [--vip ADDR]... "
    "[--check] [-f FILE] [-i ID]";

// rs-setup [VS] [--mode M] [--format F] [--vip ADDR]... [--check] [-f FILE] [-i ID]: what a
// real server behind VS needs (doctor/rs_setup.h), or (--check, on the real server) whether this
// host has it. Without VS, --mode and --vip say it all and no configuration is read.
int run_rs_setup(const std::vector<std::string>& args) {
  using namespace vigil::doctor::rs_setup;
  using namespace vigil::control;
  Request request;
  Format format = Format::kShell;
  bool format_set = false;
  bool check = false;
  std::string file;
  std::string config_id;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if ((arg == "-f" || arg == "-i") && has_value) {
      (arg == "-f" ? file : config_id) = args[++i];
    } else if (arg == "--mode" && has_value) {
      request.mode = parse_mode(args[++i]);
      if (!request.mode) return usage_error("rs-setup: --mode is dr, tun, nat or fullnat");
    } else if (arg == "--format" && has_value) {
      auto parsed = parse_format(args[++i]);
      if (!parsed) return usage_error("rs-setup: --format is shell, sysctl or networkd");
      format = *parsed;
      format_set = true;
    } else if (arg == "--vip" && has_value) {
      auto vip = vigil::IpAddress::parse(args[++i]);
      if (!vip || vip->is_unspecified() || vip->is_multicast())
        return usage_error("rs-setup: --vip takes an IPv4 or IPv6 address, not '" + args[i] + "'");
      request.vips.push_back(*vip);
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "FWM" && request.service.empty() && has_value) {
      request.service = "FWM " + args[++i];  // `FWM 7` unquoted, as two words
    } else if (arg.rfind("-", 0) != 0 && request.service.empty()) {
      request.service = arg;
    } else {
      return usage_error(std::string(kRsSetupUsage) + ": unexpected argument '" + arg + "'");
    }
  }
  if (check && format_set) return usage_error("rs-setup: --check prints verdicts, not a --format");
  std::unique_ptr<vigil::config::Parsed> parsed;
  if (!request.service.empty()) {
    if (file.empty()) file = default_config_file();
    auto loaded = load_valid_config(file, config_id.empty() ? short_host_name() : config_id,
                                    " (vigilctl check-config)", std::cerr);
    if (const int* code = std::get_if<int>(&loaded)) return *code;
    parsed = std::move(std::get<std::unique_ptr<vigil::config::Parsed>>(loaded));
  }
  auto result = plan(parsed ? &parsed->config : nullptr, request);
  if (!result) {
    // The service or its VIPs: said without the whole usage.
    std::cerr << "vigilctl rs-setup: " << result.error().message << "\n";
    return kCtlUsage;
  }
  if (!check) {
    std::cout << render(*result, format);
    return kCtlOk;
  }
  auto facts = gather_host();
  if (!facts) {
    std::cerr << "vigilctl rs-setup --check: cannot examine this host: " << facts.error().message
              << "\n";
    return kCtlCannotRun;
  }
  const auto verdicts = judge(*result, *facts);
  std::cout << render_verdicts(*result, verdicts);
  const bool all_ok =
      std::all_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) { return v.ok; });
  return all_ok ? kCtlOk : kCtlDegraded;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("vigilctl-local: which command?");
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "config") {
    // `config check` / `config show`: check-config and dump-config by their newer names.
    if (rest.empty() || (rest[0] != "check" && rest[0] != "show"))
      return usage_error("config check|show [-f FILE] [-i ID]");
    args = {rest[0] == "check" ? "check-config" : "dump-config"};
    args.insert(args.end(), rest.begin() + 1, rest.end());
    return run_config(args);
  }
  if (command == "check-config" || command == "dump-config") return run_config(args);
  if (command == "doctor") return run_doctor(rest);
  if (command == "rs-setup") return run_rs_setup(rest);
  if (command == "genhash") return vigil::tools::run_genhash(rest, std::cout, std::cerr);
  return usage_error("unknown command '" + command + "'");
}
