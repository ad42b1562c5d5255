// vigild's command line: keepalived's flags where they mean the same, so scripts written for
// keepalived drive vigild unchanged.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vigil::daemon {

struct DaemonOptions {
  std::string config_file;         // empty: the default search (default_config_file)
  std::string config_id;           // empty: the short host name
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
  std::string ipvs_state_file;     // --ipvs-state-file; empty: kDefaultOwnershipFile
  bool show_version = false;
  bool show_help = false;
};

// Where a run keeps its files. The defaults carry the configuration's `instance` name and the
// network namespace's, so vigilds on one host (several namespaces, or several instances in one)
// keep apart (keepalived gets the same from names in /run/keepalived); an explicit -p wins.
struct RunFiles {
  std::string pid_file;
  std::string data_file;   // SIGUSR1
  std::string stats_file;  // SIGUSR2
};
RunFiles run_files(const DaemonOptions& options, const std::string& net_namespace,
                   const std::string& instance = "");

// A network namespace name is a file name under /run/netns.
Status check_namespace_name(const std::string& name);

// The network namespace a run enters: -s, else the configuration's net_namespace; empty: none.
std::string chosen_namespace(const DaemonOptions& options, const std::string& configured);

// Parses argv. Errors name the offending flag.
Result<DaemonOptions> parse_daemon_options(const std::vector<std::string>& args);
std::string daemon_usage();

// /etc/vigil/vigil.conf if it exists, else /etc/keepalived/keepalived.conf if that exists, else
// /etc/vigil/vigil.conf (so the error names vigil's own path).
std::string default_config_file();
// The host name up to its first dot (keepalived's default config id).
std::string short_host_name();

}  // namespace vigil::daemon
