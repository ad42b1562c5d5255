// keepalived 2.2.7 global_data.c get_local_name / set_default_email_from: uname's nodename and
// the name of the user the daemon runs as. NSS may be asked (getpwuid_r): call it at load, off
// the realtime thread.
#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <vector>

#include "alert/message.h"

namespace vigil::alert {

LocalIdentity local_identity() {
  LocalIdentity local;
  utsname names{};
  if (uname(&names) == 0) local.host_name = names.nodename;
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    local.user_name = found->pw_name;
  return local;
}

}  // namespace vigil::alert
