// vigild's command line: keepalived's flags where they mean the same, so scripts written for
// keepalived drive vigild unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vigil::daemon {

struct DaemonOptions {
  std::string config_file;         // empty: control::default_config_file()
  std::string config_id;           // empty: control::short_host_name()
  bool config_test = false;        // -t
  bool dump_config = false;        // --dump-config
  bool dont_fork = false;          // -n
  bool log_console = false;        // -l
  bool log_detail = false;         // -D
  bool vrrp_only = false;          // -P
  bool checkers_only = false;      // -C
  bool dont_release_vrrp = false;  // -V: leave VIPs in place on stop
  bool dont_release_ipvs = false;  // -I: leave IPVS entries in place on stop
  std::string pid_file;            // -p
  std::string net_namespace;       // -s: run in this network namespace (wins over net_namespace)
  std::string ipvs_state_file;     // --ipvs-state-file; empty: the default (run_files)
  std::string signum;              // --signum=NAME: print that signal's number and exit
  bool show_version = false;
  bool show_help = false;
};

// Where a run keeps its files. Every default name is a base name, then `_INSTANCE` when the
// configuration sets `instance`, then `_NAMESPACE` when vigild runs in a named network namespace
// (-s or net_namespace), so vigilds on one host (several namespaces, or several instances in one)
// never share a file (keepalived gets the same from names in /run/keepalived). docs/security.md
// lists the files; the control sockets to come follow the same rule. Explicit options win.
struct RunFiles {
  std::string pid_file;          // -p; /run/vigild_INST_NS.pid
  std::string data_file;         // SIGUSR1, VRRP; DUMPS/vigil_INST_NS.data
  std::string stats_file;        // SIGUSR2, VRRP; DUMPS/vigil_INST_NS.stats
  std::string check_data_file;   // SIGUSR1, checkers; DUMPS/vigil_check_INST_NS.data
  std::string check_stats_file;  // SIGUSR2, checkers; DUMPS/vigil_check_INST_NS.stats
  std::string ipvs_state_file;   // --ipvs-state-file; /run/vigil/ipvs-owned_INST_NS.conf
  // Drains, maintenance and weight overrides: /var/lib/vigil/state_INST_NS.conf.
  std::string override_state_file;
};
// The directory vigild keeps its state in (created 0755, refused unless a directory root owns).
inline constexpr const char* kStateDirectory = "/run/vigil";
// The directory of state that outlives a reboot (the overrides), created like kStateDirectory.
inline constexpr const char* kPersistentStateDirectory = "/var/lib/vigil";
// "_INST_NS", "_INST", "_NS" or "".
std::string run_file_suffix(const std::string& net_namespace, const std::string& instance);
// Where the SIGUSR1/SIGUSR2 dumps go: `tmpdir` (the TMPDIR environment variable, as keepalived
// honours it) when it is an absolute path, else /tmp. Trailing slashes are dropped.
std::string dump_directory(std::string_view tmpdir);
RunFiles run_files(const DaemonOptions& options, const std::string& net_namespace,
                   const std::string& instance = "", std::string_view tmpdir = "");

// A network namespace name is a file name under /run/netns.
Status check_namespace_name(const std::string& name);

// The network namespace a run enters: -s, else the configuration's net_namespace; empty: none.
std::string chosen_namespace(const DaemonOptions& options, const std::string& configured);

// keepalived's --signum names that vigild handles: RELOAD (SIGHUP), DATA (SIGUSR1), STATS
// (SIGUSR2), STOP (SIGTERM), so `kill -s $(vigild --signum=RELOAD) PID` works as with keepalived.
// keepalived's STATS_CLEAR, JSON and TDATA have no vigild signal: an error names what replaces
// them, as does any other name.
Result<int> signal_number(std::string_view name);

// Parses argv. Errors name the offending flag.
Result<DaemonOptions> parse_daemon_options(const std::vector<std::string>& args);
std::string daemon_usage();

}  // namespace vigil::daemon
