#include "control/script_audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace vigil::control {
namespace {

namespace sec = script_security;

// How a refusal counts in `-t`, as keepalived 2.2.7 reports it.
enum class Weight : uint8_t {
  kError,    // track scripts: "Disabling track script ..." is a config error (exit 5)
  kWarning,  // notify, FIFO and LVS scripts: only logged (exit 0)
};

class Auditor {
 public:
  Auditor(ScriptAudit& audit, const ScriptAuditEnvironment& environment)
      : audit_(audit), env_(environment) {
    const auto& global = audit_.config.global;
    enforce_ = global.enable_script_security;
    if (global.script_user) {
      const Result<RunAs>& user = resolve(*global.script_user);
      if (user) {
        default_identity_ = sec::Identity{user->uid, user->gid};
        return;
      }
      // keepalived: "Error setting global script uid/gid"; scripts without a user of their own
      // are then removed.
      default_identity_ =
          Error{fmt::format("script_user {}: {}", global.script_user->user, user.error().message)};
      audit_.diagnostics.error(global.script_user_loc,
                               fmt::format("{}: scripts without a user of their own are not run",
                                           default_identity_.error().message));
      return;
    }
    if (const Result<RunAs>& fallback = resolve(config::RunAs{.user = kDefaultScriptUser})) {
      audit_.config.global.script_user = config::RunAs{.user = kDefaultScriptUser};
      default_identity_ = sec::Identity{fallback->uid, fallback->gid};
    } else if (enforce_) {
      default_identity_ = Error{fmt::format(
          "enable_script_security is set, script_user is not and there is no user {} to run "
          "scripts as",
          kDefaultScriptUser)};
    }  // else: root, the daemon's own credentials
  }

  // Judges one script; rewrites its program on success. False: remove it.
  bool keep(config::Command& command, const std::optional<config::RunAs>& own_user,
            std::string_view what, Weight weight, std::string_view refusal = "not run") {
    if (command.argv.empty()) return false;
    auto identity = identity_for(own_user);
    if (!identity) {
      report(weight, command.loc,
             fmt::format("{} {}: {}: {}", what, command.text, identity.error().message, refusal));
      return false;
    }
    const sec::Assessment assessment =
        sec::assess(command.argv[0], *identity, enforce_, env_.files, env_.search_path);
    if (assessment.verdict != sec::Verdict::kNotFound) scripts_found_ = true;
    switch (assessment.verdict) {
      case sec::Verdict::kSecure:
        break;
      case sec::Verdict::kInsecure:
        insecure_found_ = true;
        audit_.diagnostics.warning(
            command.loc, fmt::format("{} {} is insecure ({}): it runs as root only because "
                                     "enable_script_security is not set",
                                     what, command.text, assessment.reason));
        break;
      case sec::Verdict::kRefused:
        insecure_found_ = true;
        report(weight, command.loc,
               fmt::format("{} {} is insecure ({}): {} (enable_script_security)", what,
                           command.text, assessment.reason, refusal));
        return false;
      case sec::Verdict::kNotFound:
      case sec::Verdict::kWrongType:
      case sec::Verdict::kNotExecutable:
        report(weight_of(assessment.verdict, weight), command.loc,
               fmt::format("{} {}: {} ({}): {}", what, command.text,
                           sec::to_string(assessment.verdict), assessment.reason, refusal));
        return false;
    }
    command.argv[0] = assessment.program;
    return true;
  }

  void finish() {
    audit_.scripts_without_security = scripts_found_ && !enforce_;
    if (audit_.scripts_without_security) {
      // keepalived's "SECURITY VIOLATION": it has no line to point at.
      audit_.diagnostics.warning(
          config::SourceLocation{},
          fmt::format("scripts are run but enable_script_security is not set{}",
                      insecure_found_ ? "; some are insecure" : ""));
    }
  }

 private:
  // keepalived: a script that is not executable is dropped without a config error.
  static Weight weight_of(sec::Verdict verdict, Weight weight) {
    return verdict == sec::Verdict::kNotExecutable ? Weight::kWarning : weight;
  }

  void report(Weight weight, const config::SourceLocation& loc, std::string message) {
    ++audit_.refused;
    if (weight == Weight::kError) {
      audit_.diagnostics.error(loc, std::move(message));
    } else {
      audit_.diagnostics.warning(loc, std::move(message));
    }
  }

  // One NSS look-up per user and group, however many scripts name them. std::map keeps the
  // references it hands out valid.
  const Result<RunAs>& resolve(const config::RunAs& user) {
    auto key = std::make_pair(user.user, user.group);
    auto it = users_.find(key);
    if (it == users_.end())
      it = users_.emplace(std::move(key), env_.resolve_user(user.user, user.group)).first;
    return it->second;
  }

  Result<sec::Identity> identity_for(const std::optional<config::RunAs>& own_user) {
    if (!own_user) return default_identity_;
    const Result<RunAs>& user = resolve(*own_user);
    if (!user) return user.error();
    return sec::Identity{user->uid, user->gid};
  }

  ScriptAudit& audit_;
  const ScriptAuditEnvironment& env_;
  bool enforce_ = false;
  // Who runs a script without a user of its own; an error refuses those scripts.
  Result<sec::Identity> default_identity_ = sec::Identity{0, 0};  // root: vigild's credentials
  std::map<std::pair<std::string, std::string>, Result<RunAs>> users_;
  bool scripts_found_ = false;
  bool insecure_found_ = false;
};

template <class Script>
void audit_optional(Auditor& auditor, std::optional<Script>& script, std::string_view what) {
  if (script && !auditor.keep(script->command, script->run_as, what, Weight::kWarning))
    script.reset();
}

void audit_notify(Auditor& auditor, config::VrrpNotify& notify, const std::string& owner) {
  audit_optional(auditor, notify.master, owner + " notify_master");
  audit_optional(auditor, notify.backup, owner + " notify_backup");
  audit_optional(auditor, notify.fault, owner + " notify_fault");
  audit_optional(auditor, notify.stop, owner + " notify_stop");
  audit_optional(auditor, notify.any, owner + " notify");
}

void audit_fifo(Auditor& auditor, std::optional<config::NotifyFifo>& fifo, std::string_view name) {
  if (!fifo || !fifo->script) return;
  const std::optional<config::RunAs> user =
      fifo->run_as.user.empty() ? std::nullopt : std::optional(fifo->run_as);
  if (!auditor.keep(*fifo->script, user, fmt::format("{}_script", name), Weight::kWarning))
    fifo->script.reset();  // the FIFO is still written
}

void audit_vrrp(Auditor& auditor, config::VrrpSection& vrrp) {
  std::set<std::string> refused;
  std::erase_if(vrrp.scripts, [&](config::VrrpScript& script) {
    if (auditor.keep(script.script, script.user, "vrrp_script " + script.name, Weight::kError,
                     "not run, and no instance or sync group tracks it"))
      return false;
    refused.insert(script.name);
    return true;
  });
  auto untrack = [&](config::VrrpTracking& track) {
    std::erase_if(track.scripts,
                  [&](const config::TrackRef& ref) { return refused.contains(ref.name); });
  };
  for (auto& instance : vrrp.instances) {
    untrack(instance.track);
    audit_notify(auditor, instance.notify, "vrrp_instance " + instance.name);
    audit_optional(auditor, instance.notify_master_rx_lower_pri,
                   "vrrp_instance " + instance.name + " notify_master_rx_lower_pri");
    audit_optional(auditor, instance.notify_deleted_script,
                   "vrrp_instance " + instance.name + " notify_deleted");
  }
  for (auto& group : vrrp.sync_groups) {
    untrack(group.track);
    audit_notify(auditor, group.notify, "vrrp_sync_group " + group.name);
  }
}

void audit_lvs_script(Auditor& auditor, config::Box<config::LvsScript>& script,
                      std::string_view what) {
  if (script && !auditor.keep(script->command, script->run_as, what, Weight::kWarning)) script = {};
}

void audit_lvs(Auditor& auditor, config::LvsSection& lvs) {
  for (auto& vs : lvs.virtual_servers) {
    audit_optional(auditor, vs.quorum_up, "quorum_up");
    audit_optional(auditor, vs.quorum_down, "quorum_down");
    for (auto& rs : vs.real_servers) {
      audit_lvs_script(auditor, rs.notify_up, "notify_up");
      audit_lvs_script(auditor, rs.notify_down, "notify_down");
      // keepalived removes a refused MISC_CHECK from its real server.
      std::erase_if(rs.checkers, [&](config::Checker& checker) {
        auto* misc = std::get_if<config::Box<config::MiscCheck>>(&checker.kind);
        if (misc == nullptr || !*misc) return false;
        return !auditor.keep((*misc)->path, (*misc)->user, "MISC_CHECK misc_path",
                             Weight::kWarning);
      });
    }
  }
}

}  // namespace

ScriptAudit audit_scripts(config::Config config, const ScriptAuditEnvironment& environment) {
  ScriptAudit audit{.config = std::move(config)};
  Auditor auditor(audit, environment);
  audit_vrrp(auditor, audit.config.vrrp);
  audit_lvs(auditor, audit.config.lvs);
  audit_fifo(auditor, audit.config.global.notify_fifo, "notify_fifo");
  audit_fifo(auditor, audit.config.global.vrrp_notify_fifo, "vrrp_notify_fifo");
  audit_fifo(auditor, audit.config.global.lvs_notify_fifo, "lvs_notify_fifo");
  audit_optional(auditor, audit.config.global.startup_script, "startup_script");
  audit_optional(auditor, audit.config.global.shutdown_script, "shutdown_script");
  auditor.finish();
  return audit;
}

ScriptAuditEnvironment system_script_environment() {
  static const script_security::LinuxFileInspector files;
  return ScriptAuditEnvironment{
      .files = files, .resolve_user = [](const std::string& user, const std::string& group) {
        return resolve_run_as(user, group);
      }};
}

}  // namespace vigil::control
