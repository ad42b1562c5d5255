// Value types shared by every section of the configuration model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "config/diagnostics.h"

namespace vigil::config {

// A script or program to run (without a shell), as written for a script keyword.
struct Command {
  std::vector<std::string> argv;  // argv[0] is the program
  std::string text;               // as written, for logs and the JSON dump
  SourceLocation loc;
  bool operator==(const Command& other) const { return argv == other.argv; }
};

// "script_user username [groupname]" and the optional user/group after fifo and script names.
struct RunAs {
  std::string user;
  std::string group;  // empty: the user's primary group
  bool operator==(const RunAs&) const = default;
};

// A notify script (also startup_script / shutdown_script): `notify_master SCRIPT [username
// [groupname]]`. As in keepalived, SCRIPT is one word, quoted when it has arguments
// ("/bin/notify.sh master"); it is then split into argv.
struct NotifyScript {
  Command command;
  std::optional<RunAs> run_as;  // unset: global_defs script_user
};

}  // namespace vigil::config
