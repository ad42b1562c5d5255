// vigilctl: vigil's control and status command line.
//
//   vigilctl status [--json]                   the daemon's state (exit 0 healthy, 1 degraded,
//                                              3 unreachable)
//   vigilctl reload [--wait] [--reason TEXT]   reload the configuration, with its outcome
//   vigilctl check-config [-f FILE] [-i ID]    validate a configuration (exit codes as vigild -t)
//   vigilctl dump-config  [-f FILE] [-i ID]    print it as vigil understood it, as JSON
//   vigilctl genhash -s ADDR -p PORT -u URL    a url's digest, as HTTP_GET computes it
//
// The exit codes are one table (docs/operations.md "Exit codes").
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/client.h"
#include "api/status.h"
#include "control/config_check.h"
#include "control/exit_codes.h"
#include "tools/genhash.h"

namespace {

using vigil::control::kCtlConfigErrors;
using vigil::control::kCtlDegraded;
using vigil::control::kCtlOk;
using vigil::control::kCtlRefused;
using vigil::control::kCtlUnreachable;
using vigil::control::kCtlUsage;

constexpr const char* kUsage =
    "Usage: vigilctl [-s NAMESPACE] [--instance NAME] [--socket PATH] COMMAND [OPTIONS]\n"
    "Commands talking to vigild (over /run/vigil/vigild[_INSTANCE][_NAMESPACE].sock):\n"
    "  status [--json]                 the daemon, its VRRP instances and virtual servers\n"
    "                                  (exit 0 healthy, 1 degraded, 3 vigild unreachable)\n"
    "  reload [--wait] [--reason TEXT] reload the configuration file and print the outcome\n"
    "                                  (exit 0 applied, 5 refused: the errors are printed)\n"
    "Commands on files:\n"
    "  check-config [-f FILE] [-i ID]  validate a configuration file (exit 0 ok, 4 cannot read,\n"
    "                                  5 errors, 6 scripts without script security); every\n"
    "                                  problem is printed as file:line:col\n"
    "  dump-config  [-f FILE] [-i ID]  print the configuration as vigil understood it (JSON)\n"
    "  genhash -s ADDR -p PORT -u URL  the MD5 digest of a url's body for HTTP_GET/SSL_GET\n"
    "          [-S] [-I] [-V VHOST]    `digest` lines (keepalived's genhash options; genhash -h)\n"
    "  version                         print the version\n"
    "Options:\n"
    "  -s NAMESPACE     the vigild running in this network namespace (vigild -s / net_namespace)\n"
    "  --instance NAME  the vigild whose configuration sets `instance NAME`\n"
    "  --socket PATH    this socket (wins over -s and --instance)\n"
    "  -f FILE  configuration file (default /etc/vigil/vigil.conf, else\n"
    "           /etc/keepalived/keepalived.conf)\n"
    "  -i ID    configuration id for @ID lines (default: short host name)\n"
    "Exit codes: 0 ok, 1 degraded, 2 usage, 3 vigild unreachable, 4 config unreadable,\n"
    "            5 config errors, 6 script security, 8 vigild refused the request\n";

int usage_error(const std::string& message) {
  std::cerr << "vigilctl: " << message << "\n" << kUsage;
  return kCtlUsage;
}

struct Target {
  std::string net_namespace;
  std::string instance;
  std::string socket;  // explicit
};

// Reads go to the read-only socket unless we are root (root may use either); changes go to the
// admin socket.
std::string socket_for(const Target& target, bool change) {
  if (!target.socket.empty()) return target.socket;
  const auto paths = vigil::api::socket_paths(target.net_namespace, target.instance);
  return change || ::geteuid() == 0 ? paths.admin : paths.read_only;
}

// The daemon's error body ({"error": ...}) or the raw body.
std::string error_of(const vigil::api::ParsedResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return body["error"].get<std::string>();
  return response.body;
}

int run_status(const Target& target, const std::vector<std::string>& args) {
  bool json = false;
  for (const auto& arg : args) {
    if (arg == "--json") {
      json = true;
    } else {
      return usage_error("status: unexpected argument '" + arg + "'");
    }
  }
  const std::string socket = socket_for(target, false);
  auto response = vigil::api::send_request(socket, {.target = "/v1/status"});
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  if (response->status != 200) {
    std::cerr << "vigilctl: vigild refused: " << error_of(*response) << "\n";
    return kCtlRefused;
  }
  auto status = vigil::api::status_from_json(response->body);
  if (!status) {
    std::cerr << "vigilctl: " << status.error().message << "\n";
    return kCtlRefused;
  }
  if (json) {
    std::cout << response->body;
  } else {
    std::cout << vigil::api::render_status_text(*status);
  }
  return vigil::api::assess(*status).healthy ? kCtlOk : kCtlDegraded;
}

int run_reload(const Target& target, const std::vector<std::string>& args) {
  std::string reason;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--wait") continue;  // a reload always answers with its outcome
    if (args[i] == "--reason" && i + 1 < args.size()) {
      reason = args[++i];
    } else {
      return usage_error("reload: unexpected argument '" + args[i] + "'");
    }
  }
  nlohmann::json body = nlohmann::json::object();
  if (!reason.empty()) body["reason"] = reason;
  auto response =
      vigil::api::send_request(socket_for(target, true), {.method = "POST",
                                                          .target = "/v1/reload",
                                                          .body = body.dump(),
                                                          .timeout = std::chrono::seconds(120)});
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status == 200) {
    std::cout << answer.value("message", std::string("configuration reloaded")) << "\n";
    return kCtlOk;
  }
  std::cerr << "vigilctl: reload refused: " << error_of(*response) << "\n";
  if (response->status == 422 && answer.is_object() && answer.contains("errors")) {
    for (const auto& line : answer["errors"])
      std::cerr << "  " << line.get<std::string>() << "\n";
    return kCtlConfigErrors;
  }
  return kCtlRefused;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vigil::control;
  std::vector<std::string> all(argv + 1, argv + argc);
  // Global options come before the command.
  Target target;
  size_t first = 0;
  for (; first < all.size(); ++first) {
    const std::string& arg = all[first];
    if (arg == "-s" || arg == "--instance" || arg == "--socket") {
      if (first + 1 >= all.size()) return usage_error(arg + " needs a value");
      (arg == "-s"           ? target.net_namespace
       : arg == "--instance" ? target.instance
                             : target.socket) = all[++first];
    } else {
      break;
    }
  }
  std::vector<std::string> args(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? kCtlUsage : kCtlOk;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "version") {
    std::cout << "vigilctl " << VIGIL_VERSION << "\n";
    return kCtlOk;
  }
  if (command == "status") return run_status(target, rest);
  if (command == "reload") return run_reload(target, rest);
  if (command == "genhash") return vigil::tools::run_genhash(rest, std::cout, std::cerr);
  if (command != "check-config" && command != "dump-config")
    return usage_error("unknown command '" + command + "'");
  ConfigCheckRequest request{.dump_json = command == "dump-config"};
  for (size_t i = 0; i < rest.size(); ++i) {
    if ((rest[i] == "-f" || rest[i] == "-i") && i + 1 < rest.size()) {
      (rest[i] == "-f" ? request.file : request.config_id) = rest[i + 1];
      ++i;
    } else {
      return usage_error(command + ": unexpected argument '" + rest[i] + "'");
    }
  }
  if (request.file.empty()) request.file = default_config_file();
  if (request.config_id.empty()) request.config_id = short_host_name();
  return run_config_check(request, std::cout, std::cerr);
}
