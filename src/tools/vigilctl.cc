// vigilctl: vigil's control and status command line.
//
//   vigilctl status [--json]                   the daemon's state (exit 0 healthy, 1 degraded,
//                                              3 unreachable)
//   vigilctl reload [--wait] [--dry-run] [--json] [--reason TEXT]
//                                              reload the configuration (or show its plan)
//   vigilctl events [--follow] [--json]        transitions, health changes, overrides, reloads
//   vigilctl check-config [-f FILE] [-i ID]    validate a configuration (exit codes as vigild -t)
//   vigilctl dump-config  [-f FILE] [-i ID]    print it as vigil understood it, as JSON
//   vigilctl doctor [-f FILE] [-i ID] [--json]
//                                              what on this host breaks the configuration
//   vigilctl genhash -s ADDR -p PORT -u URL    a url's digest, as HTTP_GET computes it
//   vigilctl rs-setup VS [--mode M] [--format F] [--check]
//                                              what a real server behind VS needs, or has
//
// The commands on files and on this host (check-config, dump-config, config, doctor, genhash,
// rs-setup) are vigilctl-local's: vigilctl runs it for them (src/tools/usage.h says why).
// The exit codes are one table (docs/operations.md "Exit codes").
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/client.h"
#include "api/events.h"
#include "api/plan.h"
#include "api/status.h"
#include "api/vrrp_ops.h"
#include "control/exit_codes.h"
#include "tools/usage.h"

namespace {

using vigil::control::kCtlChangesPending;
using vigil::control::kCtlConfigErrors;
using vigil::control::kCtlDegraded;
using vigil::control::kCtlOk;
using vigil::control::kCtlRefused;
using vigil::control::kCtlUnreachable;
using vigil::control::kCtlUsage;
using vigil::tools::kUsage;
using vigil::tools::usage_error;

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

// No answer (exit 3) or not a 200 (exit 8), said on stderr; none when vigild answered 200.
std::optional<int> failure_exit(const vigil::Result<vigil::api::ParsedResponse>& response) {
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  if (response->status != 200) {
    std::cerr << "vigilctl: vigild refused: " << error_of(*response) << "\n";
    return kCtlRefused;
  }
  return std::nullopt;
}

// `request` (a POST goes to the admin socket): the body of a 200 answer, or the exit code after
// saying why not.
std::variant<std::string, int> call(const Target& target,
                                    const vigil::api::ClientRequest& request) {
  auto response = vigil::api::send_request(socket_for(target, request.method != "GET"), request);
  if (auto failed = failure_exit(response)) return *failed;
  return std::move(response->body);
}

// GET `path`, as call().
std::variant<std::string, int> fetch(const Target& target, const std::string& path) {
  return call(target, {.target = path});
}

// GET `path` as a status (its JSON kept in `body`), or the exit code after saying why not.
std::variant<vigil::api::DaemonStatus, int> fetch_status(const Target& target,
                                                         const std::string& path,
                                                         std::string* body) {
  auto fetched = fetch(target, path);
  if (const int* code = std::get_if<int>(&fetched)) return *code;
  *body = std::move(std::get<std::string>(fetched));
  auto status = vigil::api::status_from_json(*body);
  if (!status) {
    std::cerr << "vigilctl: " << status.error().message << "\n";
    return kCtlRefused;
  }
  return std::move(*status);
}

// `[NAME] [--json]`: false on anything else.
bool name_and_json(const std::vector<std::string>& args, std::string* name, bool* json) {
  for (const auto& arg : args) {
    if (arg == "--json") {
      *json = true;
    } else if (name != nullptr && name->empty() && arg.rfind("--", 0) != 0) {
      *name = arg;
    } else {
      return false;
    }
  }
  return true;
}

int run_status(const Target& target, const std::vector<std::string>& args) {
  bool json = false;
  if (!name_and_json(args, nullptr, &json)) return usage_error("status [--json]");
  std::string body;
  auto fetched = fetch_status(target, "/v1/status", &body);
  if (const int* code = std::get_if<int>(&fetched)) return *code;
  const auto& status = std::get<vigil::api::DaemonStatus>(fetched);
  std::cout << (json ? body
                     : vigil::api::render_status_text(status,
                                                      static_cast<int64_t>(std::time(nullptr))));
  return vigil::api::assess(status).healthy ? kCtlOk : kCtlDegraded;
}

// vrrp [INSTANCE] and services [VS], [--json]: `render` picks the part `name` names (all when
// empty); nothing picked is an error for a name, not for an empty configuration.
int run_detail(const Target& target, const std::vector<std::string>& args, const char* what,
               const std::string& path, const std::string& nothing,
               std::string (*render)(const vigil::api::DaemonStatus&, const std::string&)) {
  bool json = false;
  std::string only;
  if (!name_and_json(args, &only, &json)) return usage_error(std::string(what) + " [--json]");
  std::string body;
  auto fetched = fetch_status(target, path, &body);
  if (const int* code = std::get_if<int>(&fetched)) return *code;
  if (json) {
    std::cout << body;
    return kCtlOk;
  }
  const std::string text = render(std::get<vigil::api::DaemonStatus>(fetched), only);
  if (text.empty()) {
    std::cerr << "vigilctl: "
              << (only.empty() ? "no " + nothing + " is configured" : "no " + nothing + " " + only)
              << "\n";
    return only.empty() ? kCtlOk : kCtlRefused;
  }
  std::cout << text;
  return kCtlOk;
}

int run_overrides(const Target& target, const std::vector<std::string>& args) {
  bool json = false;
  if (!name_and_json(args, nullptr, &json)) return usage_error("overrides [--json]");
  auto fetched = fetch(target, "/v1/overrides");
  if (const int* code = std::get_if<int>(&fetched)) return *code;
  const std::string& body = std::get<std::string>(fetched);
  if (json) {
    std::cout << body;
    return kCtlOk;
  }
  auto answer = nlohmann::json::parse(body, nullptr, false);
  std::vector<vigil::api::OverrideStatus> list;
  if (answer.is_object() && answer.contains("overrides")) {
    for (const auto& o : answer["overrides"]) {
      auto parsed = vigil::api::override_from_json(o);
      if (!parsed) {
        std::cerr << "vigilctl: " << parsed.error().message << "\n";
        return kCtlRefused;
      }
      list.push_back(std::move(*parsed));
    }
  }
  if (list.empty()) {
    std::cout << "no overrides\n";
  } else {
    std::cout << vigil::api::render_overrides_text(list, static_cast<int64_t>(std::time(nullptr)))
              << "(local to this director: the peer does not learn them)\n";
  }
  return kCtlOk;
}

// "90", "90s", "15m", "2h", "1d": a positive number of seconds.
std::optional<int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])) != 0)
    ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  const int64_t value = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "m") scale = 60;
  if (unit == "h") scale = 3600;
  if (unit == "d") scale = 86400;
  if (scale == 0 || value == 0) return std::nullopt;
  return value * scale;
}

// Prints a change's answer; the exit code.
int report_change(const vigil::Result<vigil::api::ParsedResponse>& response) {
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (answer.is_object() && answer.contains("changed")) {
    for (const auto& name : answer["changed"])
      std::cout << answer.value("action", std::string()) << ": " << name.get<std::string>() << "\n";
  }
  if (response->status == 200) return kCtlOk;
  if (answer.is_object() && answer.contains("errors") && !answer["errors"].empty()) {
    for (const auto& line : answer["errors"])
      std::cerr << "vigilctl: " << line.get<std::string>() << "\n";
  } else {
    std::cerr << "vigilctl: vigild refused: " << error_of(*response) << "\n";
  }
  return kCtlRefused;
}

// rs drain|maint|ready VS RS [--all-vs] [--reason TEXT] [--for DURATION]; rs weight VS RS N|reset
int run_rs(const Target& target, const std::vector<std::string>& args) {
  if (args.empty()) return usage_error("rs: drain, maint, ready or weight?");
  std::string action = args[0];
  if (action != "drain" && action != "maint" && action != "ready" && action != "weight")
    return usage_error("rs: unknown action '" + action + "' (drain, maint, ready, weight)");
  std::vector<std::string> words;
  nlohmann::json body = nlohmann::json::object();
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--all-vs") {
      body["all_vs"] = true;
    } else if (args[i] == "--reason" && i + 1 < args.size()) {
      body["reason"] = args[++i];
    } else if (args[i] == "--for" && i + 1 < args.size()) {
      auto seconds = parse_duration(args[++i]);
      if (!seconds) return usage_error("rs: --for takes a duration: 90s, 15m, 2h, 1d");
      body["for_seconds"] = *seconds;
    } else if (args[i].rfind("--", 0) == 0) {
      return usage_error("rs: unexpected option '" + args[i] + "'");
    } else {
      words.push_back(args[i]);
    }
  }
  const bool all_vs = body.value("all_vs", false);
  // With --all-vs the virtual server may be left out: `rs drain --all-vs RS`.
  if (all_vs && words.size() == (action == "weight" ? 2U : 1U)) words.insert(words.begin(), "");
  const size_t wanted = action == "weight" ? 3 : 2;
  if (words.size() != wanted) {
    return usage_error(action == "weight" ? "rs weight VS RS N|reset"
                                          : "rs " + action + " VS RS [--all-vs] [--reason TEXT]");
  }
  body["virtual_server"] = words[0];
  body["real_server"] = words[1];
  if (action == "weight") {
    if (words[2] == "reset") {
      action = "ready";
    } else {
      const std::string& n = words[2];
      if (n.empty() || n.size() > 10 || n.find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(n) > INT32_MAX)
        return usage_error("rs weight: N is a whole number from 0 to 2147483647, or reset");
      body["weight"] = std::stoll(n);
    }
  }
  body["action"] = action;
  return report_change(vigil::api::send_request(
      socket_for(target, true), {.method = "POST", .target = "/v1/rs", .body = body.dump()}));
}

// events [--follow] [--json]: the journal, then (following) each new event as it comes, until
// vigild ends the stream (stopping, or dropping a reader that fell behind) or sends nothing for
// three heartbeat intervals: exit 3 then.
int run_events(const Target& target, const std::vector<std::string>& args) {
  bool follow = false;
  bool json = false;
  for (const auto& arg : args) {
    if (arg == "--follow" || arg == "-f") {
      follow = true;
    } else if (arg == "--json") {
      json = true;
    } else {
      return usage_error("events [--follow] [--json]");
    }
  }
  auto response = vigil::api::stream_request(
      socket_for(target, false),
      {.target = follow ? "/v1/events?follow=1" : "/v1/events",
       // Three heartbeats missed: vigild hangs, or the connection died without closing.
       .stream_idle = follow ? 3 * vigil::api::kHeartbeatInterval : vigil::Duration::zero()},
      [json](std::string_view line) {
        if (line.empty()) return;
        if (json) {
          std::cout << line << "\n" << std::flush;
          return;
        }
        auto parsed = nlohmann::json::parse(line, nullptr, false);
        // vigild's sign of life on a quiet stream: for scripts (--json), not for people.
        if (vigil::api::is_heartbeat(parsed)) return;
        if (parsed.is_object() && parsed.contains("lost")) {
          std::cerr << "vigilctl: " << parsed.value("error", std::string("events lost")) << "\n";
          return;
        }
        auto event = vigil::api::event_from_json(parsed);
        if (!event) {
          std::cerr << "vigilctl: an event vigilctl cannot read: " << event.error().message << "\n";
          return;
        }
        std::cout << vigil::api::render_event_text(*event) << std::flush;
      });
  if (auto failed = failure_exit(response)) return *failed;
  if (follow) {
    std::cerr << "vigilctl: vigild ended the event stream\n";
    return kCtlUnreachable;
  }
  return kCtlOk;
}

// log level LEVEL [COMPONENT]
int run_log(const Target& target, const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 3 || args[0] != "level")
    return usage_error("log level trace|debug|info|warn|error|critical|off [COMPONENT]");
  nlohmann::json body = {{"level", args[1]}};
  if (args.size() == 3) body["component"] = args[2];
  auto answer = call(target, {.method = "POST", .target = "/v1/log", .body = body.dump()});
  if (const int* code = std::get_if<int>(&answer)) return *code;
  std::cout << "log level " << args[1] << " for "
            << (args.size() == 3 ? args[2] : std::string("every component")) << "\n";
  return kCtlOk;
}

// reload --dry-run: the plan, and 0 (nothing would change), 7 (changes pending) or 5 (refused).
int print_plan(const vigil::api::ParsedResponse& response, bool json) {
  auto plan = vigil::api::plan_from_json(response.body);
  if (!plan) {
    std::cerr << "vigilctl: " << plan.error().message << "\n";
    return kCtlUnreachable;
  }
  std::cout << (json ? vigil::api::to_json_text(*plan) : vigil::api::render_plan_text(*plan));
  if (vigil::api::refused(*plan)) return kCtlConfigErrors;
  return vigil::api::summarize(plan->part).total() > 0 ? kCtlChangesPending : kCtlOk;
}

int run_reload(const Target& target, const std::vector<std::string>& args) {
  std::string reason;
  bool dry_run = false;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--wait") continue;  // a reload always answers with its outcome
    if (args[i] == "--dry-run") {
      dry_run = true;
    } else if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--reason" && i + 1 < args.size()) {
      reason = args[++i];
    } else {
      return usage_error("reload: unexpected argument '" + args[i] + "'");
    }
  }
  nlohmann::json body = nlohmann::json::object();
  if (!reason.empty()) body["reason"] = reason;
  if (dry_run) body["dry_run"] = true;
  auto response =
      vigil::api::send_request(socket_for(target, true), {.method = "POST",
                                                          .target = "/v1/reload",
                                                          .body = body.dump(),
                                                          .timeout = std::chrono::seconds(120)});
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  if (dry_run && response->status == 200) return print_plan(*response, json);
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (json && answer.is_object()) std::cout << answer.dump(2) << "\n";
  if (response->status == 200) {
    if (!json) std::cout << answer.value("message", std::string("configuration reloaded")) << "\n";
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

// vrrp stats [INSTANCE] [--clear] [--json]: GET /v1/vrrp/stats, or POST /v1/vrrp/stats/clear
// (the admin socket) which answers the stats after the clear.
int run_vrrp_stats(const Target& target, const std::vector<std::string>& args) {
  bool json = false;
  bool clear = false;
  std::string only;
  for (const auto& arg : args) {
    if (arg == "--json") {
      json = true;
    } else if (arg == "--clear") {
      clear = true;
    } else if (only.empty() && arg.rfind("--", 0) != 0) {
      only = arg;
    } else {
      return usage_error("vrrp stats [INSTANCE] [--clear] [--json]");
    }
  }
  auto answer = clear ? call(target, {.method = "POST",
                                      .target = "/v1/vrrp/stats/clear",
                                      .body = nlohmann::json({{"instance", only}}).dump()})
                      : fetch(target, "/v1/vrrp/stats");
  if (const int* code = std::get_if<int>(&answer)) return *code;
  auto stats = vigil::api::vrrp_stats_from_json(std::get<std::string>(answer));
  if (!stats) {
    std::cerr << "vigilctl: " << stats.error().message << "\n";
    return kCtlRefused;
  }
  if (!only.empty() &&
      std::none_of(stats->begin(), stats->end(), [&](const auto& s) { return s.name == only; })) {
    std::cerr << "vigilctl: no vrrp_instance " << only << "\n";
    return kCtlRefused;
  }
  if (json) {
    std::vector<vigil::api::VrrpInstanceStats> shown;
    for (const auto& s : *stats) {
      if (only.empty() || s.name == only) shown.push_back(s);
    }
    std::cout << vigil::api::vrrp_stats_json_text(shown);
    return kCtlOk;
  }
  const std::string text = vigil::api::render_vrrp_stats_text(*stats, only);
  std::cout << (text.empty() ? std::string("no vrrp_instance is configured\n") : text);
  return kCtlOk;
}

// vrrp maintenance on|off INSTANCE|--all [--reason TEXT]: POST /v1/vrrp/maintenance.
int run_vrrp_maintenance(const Target& target, const std::vector<std::string>& args) {
  const char* usage = "vrrp maintenance on|off INSTANCE|--all [--reason TEXT]";
  if (args.empty() || (args[0] != "on" && args[0] != "off")) return usage_error(usage);
  nlohmann::json body = {{"on", args[0] == "on"}};
  std::string instance;
  bool all = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--all") {
      all = true;
    } else if (args[i] == "--reason" && i + 1 < args.size()) {
      body["reason"] = args[++i];
    } else if (instance.empty() && args[i].rfind("--", 0) != 0) {
      instance = args[i];
    } else {
      return usage_error(usage);
    }
  }
  if (instance.empty() == !all) return usage_error(usage);
  if (all) {
    body["all"] = true;
  } else {
    body["instance"] = instance;
  }
  auto response = vigil::api::send_request(
      socket_for(target, true),
      {.method = "POST", .target = "/v1/vrrp/maintenance", .body = body.dump()});
  if (!response) {
    std::cerr << "vigilctl: " << response.error().message << "\n";
    return kCtlUnreachable;
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (answer.is_object() && answer.contains("changed")) {
    vigil::api::MaintenanceChange change{
        .on = answer.value("on", false),
        .changed = answer["changed"].get<std::vector<std::string>>(),
        .unchanged = answer.value("unchanged", std::vector<std::string>())};
    std::cout << vigil::api::render_maintenance_change(change);
  }
  if (response->status == 200) return kCtlOk;
  std::cerr << "vigilctl: vigild refused: " << error_of(*response) << "\n";
  return kCtlRefused;
}

// The commands vigilctl-local runs: they read the configuration, the host or a web server,
// never vigild, and need the libraries vigilctl is kept free of.
bool is_local_command(const std::string& command) {
  return command == "config" || command == "check-config" || command == "dump-config" ||
         command == "doctor" || command == "genhash" || command == "rs-setup";
}

// vigilctl-local: beside this program (a build tree, or a tree installed elsewhere), else where
// the package installs it. Never from $PATH or the environment: root runs this.
std::string local_program() {
  std::error_code failed;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", failed);
  if (!failed) {
    auto beside = self.parent_path() / "vigilctl-local";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
  return VIGIL_LIBEXEC_DIR "/vigilctl-local";
}

// Replaces this process with vigilctl-local running `args` (the command and its arguments);
// returns only when that cannot be done.
int run_local(std::vector<std::string> args) {
  std::string program = local_program();
  std::vector<char*> argv{program.data()};
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  const int error = errno;
  std::cerr << "vigilctl: cannot run " << program << " (" << std::strerror(error) << "): `vigilctl "
            << args[0] << "` needs it; reinstall the vigil package\n";
  return vigil::control::kCtlNotInstalled;
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
  if (is_local_command(command)) return run_local(args);
  if (command == "status") return run_status(target, rest);
  if (command == "reload") return run_reload(target, rest);
  if (command == "rs") return run_rs(target, rest);
  if (command == "log") return run_log(target, rest);
  if (command == "overrides") return run_overrides(target, rest);
  if (command == "events") return run_events(target, rest);
  if (command == "services") {
    return run_detail(target, rest, "services [VS]", "/v1/services", "virtual server",
                      vigil::api::render_services_text);
  }
  if (command == "vrrp") {
    if (!rest.empty() && rest[0] == "garp") {
      if (rest.size() != 2) return usage_error("vrrp garp INSTANCE");
      auto answer = call(target, {.method = "POST",
                                  .target = "/v1/vrrp/garp",
                                  .body = nlohmann::json({{"instance", rest[1]}}).dump()});
      if (const int* code = std::get_if<int>(&answer)) return *code;
      std::cout << rest[1] << ": virtual addresses announced\n";
      return kCtlOk;
    }
    if (!rest.empty() && rest[0] == "stats")
      return run_vrrp_stats(target, std::vector<std::string>(rest.begin() + 1, rest.end()));
    if (!rest.empty() && rest[0] == "maintenance")
      return run_vrrp_maintenance(target, std::vector<std::string>(rest.begin() + 1, rest.end()));
    return run_detail(target, rest, "vrrp [INSTANCE]", "/v1/status", "vrrp_instance",
                      vigil::api::render_vrrp_text);
  }
  return usage_error("unknown command '" + command + "'");
}
