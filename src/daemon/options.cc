#include "daemon/options.h"

#include <boost/program_options.hpp>
#include <csignal>
#include <sstream>

namespace vigil::daemon {
namespace po = boost::program_options;

namespace {

po::options_description describe(DaemonOptions& o) {
  po::options_description desc("vigild options (keepalived's flags where they mean the same)");
  desc.add_options()(
      "use-file,f", po::value(&o.config_file)->value_name("FILE"),
      "configuration file (default /etc/vigil/vigil.conf, else /etc/keepalived/keepalived.conf)")(
      "config-id,i", po::value(&o.config_id)->value_name("ID"),
      "configuration id for @ID lines (default: short host name)")(
      "config-test,t", po::bool_switch(&o.config_test),
      "check the configuration and exit: 0 ok, 4 cannot read it, 5 errors, 6 scripts "
      "without enable_script_security")(
      "dump-config", po::bool_switch(&o.dump_config),
      "print the configuration as vigil understood it, as JSON, and exit")(
      "dont-fork,n", po::bool_switch(&o.dont_fork), "stay in the foreground")(
      "log-console,l", po::bool_switch(&o.log_console), "log to the console instead of syslog")(
      "log-detail,D", po::bool_switch(&o.log_detail), "detailed (debug) logging")(
      "vrrp,P", po::bool_switch(&o.vrrp_only), "run only the VRRP side")(
      "check,C", po::bool_switch(&o.checkers_only), "run only the checkers and IPVS side")(
      "dont-release-vrrp,V", po::bool_switch(&o.dont_release_vrrp),
      "leave virtual addresses in place on stop")("dont-release-ipvs,I",
                                                  po::bool_switch(&o.dont_release_ipvs),
                                                  "leave IPVS services in place on stop")(
      "pid,p", po::value(&o.pid_file)->value_name("FILE"),
      "pid file (default /run/vigild.pid; /run/vigild_NAME.pid in network namespace NAME, "
      "_INST before it with `instance INST`)")(
      "namespace,s", po::value(&o.net_namespace)->value_name("NAME"),
      "run in network namespace NAME (/run/netns/NAME, as `ip netns add` makes it); wins over "
      "the configuration's net_namespace")(
      "ipvs-state-file", po::value(&o.ipvs_state_file)->value_name("FILE"),
      "where vigild keeps the IPVS services it owns across restarts (default "
      "/run/vigil/ipvs-owned.conf, with _INST and _NAME as the pid file)")(
      "signum", po::value(&o.signum)->value_name("NAME"),
      "print the number of the signal for NAME (RELOAD, DATA, STATS, STOP) and exit, as "
      "keepalived does: kill -s $(vigild --signum=RELOAD) PID")(
      "version,v", po::bool_switch(&o.show_version), "print the version and exit")(
      "help,h", po::bool_switch(&o.show_help), "print this help and exit");
  return desc;
}

}  // namespace

Result<DaemonOptions> parse_daemon_options(const std::vector<std::string>& args) {
  DaemonOptions options;
  auto desc = describe(options);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Error{e.what()};
  }
  if (options.vrrp_only && options.checkers_only) {
    return Error{"-P (VRRP only) and -C (checkers only) exclude each other"};
  }
  if (auto status = check_namespace_name(options.net_namespace); !status) {
    return Error{"-s: " + status.error().message};
  }
  return options;
}

Result<int> signal_number(std::string_view name) {
  struct Known {
    std::string_view name;
    int number;
  };
  static constexpr Known kKnown[] = {
      {"RELOAD", SIGHUP}, {"DATA", SIGUSR1}, {"STATS", SIGUSR2}, {"STOP", SIGTERM}};
  for (const auto& known : kKnown) {
    if (known.name == name) return known.number;
  }
  if (name == "STATS_CLEAR" || name == "JSON" || name == "TDATA") {
    return Error{"--signum: keepalived's " + std::string(name) +
                 " signal has no vigild counterpart (vigilctl reads the state and counters); "
                 "vigild knows RELOAD, DATA, STATS and STOP"};
  }
  return Error{"--signum: unknown signal name '" + std::string(name) +
               "' (vigild knows RELOAD, DATA, STATS and STOP)"};
}

Status check_namespace_name(const std::string& name) {
  // A name is one entry of /run/netns: no path tricks.
  if (name == "." || name == ".." || name.find('/') != std::string::npos)
    return Error{"'" + name + "' is not a network namespace name"};
  return {};
}

std::string chosen_namespace(const DaemonOptions& options, const std::string& configured) {
  return options.net_namespace.empty() ? configured : options.net_namespace;
}

std::string run_file_suffix(const std::string& net_namespace, const std::string& instance) {
  return (instance.empty() ? "" : "_" + instance) +
         (net_namespace.empty() ? "" : "_" + net_namespace);
}

std::string dump_directory(std::string_view tmpdir) {
  if (tmpdir.empty() || tmpdir.front() != '/') return "/tmp";
  while (tmpdir.size() > 1 && tmpdir.back() == '/')
    tmpdir.remove_suffix(1);
  return std::string(tmpdir);
}

RunFiles run_files(const DaemonOptions& options, const std::string& net_namespace,
                   const std::string& instance, std::string_view tmpdir) {
  const std::string suffix = run_file_suffix(net_namespace, instance);
  std::string dumps = dump_directory(tmpdir);
  if (dumps != "/") dumps += "/";
  return RunFiles{
      .pid_file = options.pid_file.empty() ? "/run/vigild" + suffix + ".pid" : options.pid_file,
      .data_file = dumps + "vigil" + suffix + ".data",
      .stats_file = dumps + "vigil" + suffix + ".stats",
      .check_data_file = dumps + "vigil_check" + suffix + ".data",
      .check_stats_file = dumps + "vigil_check" + suffix + ".stats",
      .ipvs_state_file = options.ipvs_state_file.empty()
                             ? std::string(kStateDirectory) + "/ipvs-owned" + suffix + ".conf"
                             : options.ipvs_state_file,
      .override_state_file = std::string(kPersistentStateDirectory) + "/state" + suffix + ".conf",
  };
}

std::string daemon_usage() {
  DaemonOptions scratch;
  std::ostringstream out;
  out << "Usage: vigild [OPTIONS]\n" << describe(scratch);
  return out.str();
}

}  // namespace vigil::daemon
