// Script users resolved once per load (see script_users.h).
#include "daemon/check/script_users.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/log.h"
#include "config/model.h"

namespace vigil::daemon {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

}  // namespace

ScriptUsers::ScriptUsers(Resolver resolve) : resolve_(std::move(resolve)) {}

ScriptUsers::Resolver ScriptUsers::default_resolver() {
  return
      [](const std::string& user, const std::string& group) { return resolve_run_as(user, group); };
}

void ScriptUsers::load(const config::Config& config) {
  resolved_.clear();
  if (config.global.script_user) (void)get(*config.global.script_user);
  for (const auto& vs : config.lvs.virtual_servers) {
    for (const auto* script : {&vs.quorum_up, &vs.quorum_down}) {
      if (*script && (*script)->run_as) (void)get(*(*script)->run_as);
    }
    for (const auto& rs : vs.real_servers) {
      for (const auto* script : {rs.notify_up.get(), rs.notify_down.get()}) {
        if (script != nullptr && script->run_as) (void)get(*script->run_as);
      }
    }
  }
}

const std::optional<RunAs>& ScriptUsers::get(const config::RunAs& user) {
  auto [at, inserted] = resolved_.try_emplace(user);
  if (inserted) {
    ++lookups_;
    auto resolved = resolve_(user.user, user.group);
    if (resolved) {
      at->second = std::move(*resolved);
    } else {
      logger().warn("[check] script user {}: {}; its scripts do not run", user.user,
                    resolved.error().message);
    }
  }
  return at->second;
}

}  // namespace vigil::daemon
