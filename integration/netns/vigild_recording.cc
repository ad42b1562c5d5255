// vigild-recording: vigild (the same options, configuration, checkers, verdicts and
// LvsController) over an in-memory IPVS table that journals every operation, for the netns
// checker fixtures (checker_fixtures.py) on kernels without IPVS. A test binary: never installed.
//
//   vigild-recording --record FILE [vigild's options]   (or VIGIL_RECORD_FILE=FILE)
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "control/config_check.h"
#include "daemon/daemon.h"
#include "daemon/options.h"
#include "recording_datapath.h"

int main(int argc, char** argv) {
  using namespace vigil::control;
  using namespace vigil::daemon;
  std::vector<std::string> args;
  std::string record;
  if (const char* env = std::getenv("VIGIL_RECORD_FILE")) record = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--record" && i + 1 < argc) {
      record = argv[++i];
    } else if (arg.starts_with("--record=")) {
      record = arg.substr(9);
    } else {
      args.push_back(std::move(arg));
    }
  }
  auto options = parse_daemon_options(args);
  if (!options) {
    std::cerr << "vigild-recording: " << options.error().message << "\n" << daemon_usage();
    return kDaemonUsage;
  }
  if (options->show_help) {
    std::cout << "vigild-recording --record FILE (or VIGIL_RECORD_FILE) [vigild's options]\n"
              << daemon_usage();
    return 0;
  }
  if (record.empty()) {
    std::cerr << "vigild-recording: no journal file (--record FILE or VIGIL_RECORD_FILE)\n";
    return kDaemonUsage;
  }
  if (!record.starts_with("/")) {  // vigild may daemonize (chdir /): keep the file where asked
    record = std::string(std::getenv("PWD") != nullptr ? std::getenv("PWD") : ".") + "/" + record;
  }
  if (options->config_test || options->dump_config) {
    ConfigCheckRequest request{
        .file = options->config_file.empty() ? default_config_file() : options->config_file,
        .config_id = options->config_id.empty() ? short_host_name() : options->config_id,
        .dump_json = options->dump_config,
    };
    return run_config_check(request, std::cout, std::cerr);
  }
  return run_daemon(
      *options,
      production_services(*options, vigil::integration::recording_datapath_factory(record)));
}
