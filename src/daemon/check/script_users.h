// The credentials of the script users of one loaded configuration (MISC_CHECK, notify_up /
// notify_down, quorum_up / quorum_down, the lvs_notify_fifo script), each looked up once per
// load: NSS may be slow or hang on a remote directory (LDAP, sssd), so a notify never waits on
// it. Cleared at every load, so a user changed in the system is seen at the next SIGHUP. Used on
// the check thread only.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/result.h"
#include "common/run_as.h"
#include "config/model_common.h"

namespace vigil::config {
struct Config;
}

namespace vigil::daemon {

class ScriptUsers {
 public:
  using Resolver = std::function<Result<RunAs>(const std::string& user, const std::string& group)>;
  // Production: common/run_as.h resolve_run_as (NSS).
  explicit ScriptUsers(Resolver resolve = default_resolver());

  // A new configuration: forgets every user, then resolves script_user and the run_as of every
  // virtual and real server notify script now.
  void load(const config::Config& config);
  // The user's credentials, resolved on first use after a load; none (and one warning per load)
  // when the user does not resolve: its scripts do not run (never as root instead).
  const std::optional<RunAs>& get(const config::RunAs& user);
  // How many look-ups went to the resolver since construction.
  [[nodiscard]] size_t lookups() const { return lookups_; }

 private:
  static Resolver default_resolver();
  struct Less {
    bool operator()(const config::RunAs& a, const config::RunAs& b) const {
      return std::tie(a.user, a.group) < std::tie(b.user, b.group);
    }
  };
  Resolver resolve_;
  std::map<config::RunAs, std::optional<RunAs>, Less> resolved_;
  size_t lookups_ = 0;
};

}  // namespace vigil::daemon
