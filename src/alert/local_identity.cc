// keepalived 2.2.7 lib/utils.c get_local_name / global_data.c set_default_email_from: the
// canonical name of uname's nodename (getaddrinfo AI_CANONNAME), "[unknown]" when it does not
// resolve, and the name of the user the daemon runs as. NSS and the resolver may be asked: call
// it at load, off the realtime thread.
#include <netdb.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <vector>

#include "alert/message.h"

namespace vigil::alert {

LocalIdentity local_identity() {
  LocalIdentity local;
  utsname names{};
  local.host_name = kUnknownHostName;
  if (uname(&names) == 0) {
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* found_addresses = nullptr;
    if (getaddrinfo(names.nodename, nullptr, &hints, &found_addresses) == 0) {
      if (found_addresses != nullptr && found_addresses->ai_canonname != nullptr)
        local.host_name = found_addresses->ai_canonname;
      freeaddrinfo(found_addresses);
    }
  }
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    local.user_name = found->pw_name;
  return local;
}

}  // namespace vigil::alert
