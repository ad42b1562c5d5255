#include "common/run_as.h"

#include <grp.h>
#include <pwd.h>

#include <cerrno>
#include <cstring>

namespace vigil {

Result<RunAs> resolve_run_as(const std::string& user, const std::string& group) {
  std::vector<char> buffer(size_t{16} * 1024);
  passwd pwd{};
  passwd* found_user = nullptr;
  int rc;
  while ((rc = getpwnam_r(user.c_str(), &pwd, buffer.data(), buffer.size(), &found_user)) ==
             ERANGE &&
         buffer.size() < (1U << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0) return errno_error("cannot look up user " + user, rc);
  if (found_user == nullptr) return Error{"no user " + user};
  RunAs out{.user = user, .uid = pwd.pw_uid, .gid = pwd.pw_gid, .groups = {}};
  if (!group.empty()) {
    ::group grp{};
    ::group* found_group = nullptr;
    while ((rc = getgrnam_r(group.c_str(), &grp, buffer.data(), buffer.size(), &found_group)) ==
               ERANGE &&
           buffer.size() < (1U << 20)) {
      buffer.resize(buffer.size() * 2);
    }
    if (rc != 0) return errno_error("cannot look up group " + group, rc);
    if (found_group == nullptr) return Error{"no group " + group};
    out.gid = grp.gr_gid;
    out.groups = {out.gid};
    return out;
  }
  int count = 32;
  std::vector<gid_t> groups(count);
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (getgrouplist(user.c_str(), out.gid, groups.data(), &count) >= 0) {
      groups.resize(count);
      out.groups = std::move(groups);
      return out;
    }
    groups.resize(count);
  }
  return Error{"cannot list the groups of user " + user};
}

}  // namespace vigil
