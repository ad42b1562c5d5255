// vigild: the vigil daemon.
#include <iostream>
#include <string>
#include <vector>

#include "control/config_check.h"
#include "control/exit_codes.h"
#include "daemon/daemon.h"
#include "daemon/options.h"

namespace {
constexpr const char* kVersion = VIGIL_VERSION;
}

int main(int argc, char** argv) {
  using namespace vigil::control;
  using namespace vigil::daemon;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parse_daemon_options(args);
  if (!options) {
    std::cerr << "vigild: " << options.error().message << "\n" << daemon_usage();
    return kDaemonUsage;
  }
  if (options->show_help) {
    std::cout << daemon_usage();
    return kDaemonOk;
  }
  if (options->show_version) {
    std::cout << "vigild " << kVersion << "\n";
    return kDaemonOk;
  }
  if (!options->signum.empty()) {
    auto number = signal_number(options->signum);
    if (!number) {
      std::cerr << "vigild: " << number.error().message << "\n";
      return kDaemonUsage;
    }
    std::cout << *number << "\n";
    return kDaemonOk;
  }
  ConfigCheckRequest request{
      .file = options->config_file.empty() ? default_config_file() : options->config_file,
      .config_id = options->config_id.empty() ? short_host_name() : options->config_id,
      .dump_json = options->dump_config,
  };
  if (options->config_test || options->dump_config) {
    return run_config_check(request, std::cout, std::cerr);
  }
  return run_daemon(*options, production_services(*options));
}
