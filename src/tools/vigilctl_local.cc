// vigilctl-local: the vigilctl commands that work on files and on this host, without vigild.
// vigilctl runs it for them (src/tools/usage.h says why there are two programs); it takes the
// command and its arguments as vigilctl got them:
//
//   vigilctl-local check-config|dump-config [-f FILE] [-i ID]
//   vigilctl-local config check|show [-f FILE] [-i ID]
//   vigilctl-local doctor [-f FILE] [-i ID] [--json] [--no-probes]
//   vigilctl-local genhash -s ADDR -p PORT -u URL [...]
#include <iostream>
#include <string>
#include <vector>

#include "control/config_check.h"
#include "control/exit_codes.h"
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

// doctor [-f FILE] [-i ID] [--json] [--no-probes]
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
    } else {
      return usage_error("doctor [-f FILE] [-i ID] [--json] [--no-probes]: unexpected argument '" +
                         args[i] + "'");
    }
  }
  if (request.file.empty()) request.file = vigil::control::default_config_file();
  if (request.config_id.empty()) request.config_id = vigil::control::short_host_name();
  return vigil::doctor::run_doctor(request, nullptr, std::cout, std::cerr);
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
  if (command == "genhash") return vigil::tools::run_genhash(rest, std::cout, std::cerr);
  return usage_error("unknown command '" + command + "'");
}
