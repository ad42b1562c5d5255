// Who a script runs as (keepalived's script_user USER [GROUP]), looked up through NSS. Shared by
// the script runner, which changes to these credentials, and the script-security audit, which
// judges a script for them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace vigil {

// Where a script's bare argv[0] ("sh") is looked up, and the PATH it sees.
inline constexpr const char* kScriptSearchPath = "/usr/sbin:/usr/bin:/sbin:/bin";

struct RunAs {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups; the user's, or just `gid` with a GROUP
  bool operator==(const RunAs&) const = default;
};

// Looks the user (and group) up through NSS. That may block (LDAP, sssd): call it while loading
// the configuration, never on the VRRP loop. Without a group, the user's primary group and
// supplementary groups are used.
Result<RunAs> resolve_run_as(const std::string& user, const std::string& group = "");

}  // namespace vigil
