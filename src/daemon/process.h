// Process-level chores of a daemon: detaching from the terminal and the pid file.
#pragma once

#include <string>

#include "common/result.h"

namespace vigil::daemon {

// fork + setsid + chdir("/") + stdio to /dev/null; returns in the child only. The parent exits 0
// once the child is detached.
Status daemonize();

// Writes our pid to `path` (creating its directory), as a new 0644 file that replaces whatever
// was there without following a symbolic link (common/safe_file.h). Refuses when the file names a
// live process other than us: a second vigild with the same pid file is an operator error.
struct PidFileWrite {
  bool replaced_symlink =
      false;  // a symbolic link was at the path (warn: replaced_symlink_message)
};
Result<PidFileWrite> write_pid_file(const std::string& path);
void remove_pid_file(const std::string& path);

// Moves the calling thread, and every thread and child it creates from now on, into the network
// namespace /run/netns/NAME (keepalived's net_namespace). Call it before any thread or socket.
Status enter_network_namespace(const std::string& name);

}  // namespace vigil::daemon
