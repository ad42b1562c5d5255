// vigilctl: vigil's control and status command line.
//
//   vigilctl check-config [-f FILE] [-i ID]   validate a configuration (exit codes as vigild -t)
//   vigilctl dump-config  [-f FILE] [-i ID]   print it as vigil understood it, as JSON
//   vigilctl genhash -s ADDR -p PORT -u URL    a url's digest, as HTTP_GET computes it
#include <iostream>
#include <string>
#include <vector>

#include "control/config_check.h"
#include "control/exit_codes.h"
#include "tools/genhash.h"

namespace {

constexpr const char* kUsage =
    "Usage: vigilctl COMMAND [OPTIONS]\n"
    "Commands:\n"
    "  check-config [-f FILE] [-i ID]  validate a configuration file (exit 0 ok, 4 cannot read,\n"
    "                                  5 errors); every problem is printed as file:line:col\n"
    "  dump-config  [-f FILE] [-i ID]  print the configuration as vigil understood it (JSON)\n"
    "  genhash -s ADDR -p PORT -u URL  the MD5 digest of a url's body for HTTP_GET/SSL_GET\n"
    "          [-S] [-I] [-V VHOST]    `digest` lines (keepalived's genhash options; genhash -h)\n"
    "  version                         print the version\n"
    "Options:\n"
    "  -f FILE  configuration file (default /etc/vigil/vigil.conf, else\n"
    "           /etc/keepalived/keepalived.conf)\n"
    "  -i ID    configuration id for @ID lines (default: short host name)\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace vigil::control;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    std::cout << kUsage;
    return args.empty() ? kCtlUsage : kCtlOk;
  }
  const std::string command = args[0];
  if (command == "version") {
    std::cout << "vigilctl " << VIGIL_VERSION << "\n";
    return kCtlOk;
  }
  if (command == "genhash") {
    return vigil::tools::run_genhash({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  if (command != "check-config" && command != "dump-config") {
    std::cerr << "vigilctl: unknown command '" << command << "'\n" << kUsage;
    return kCtlUsage;
  }
  ConfigCheckRequest request{.dump_json = command == "dump-config"};
  for (size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "-f" || args[i] == "-i") && i + 1 < args.size()) {
      (args[i] == "-f" ? request.file : request.config_id) = args[i + 1];
      ++i;
    } else {
      std::cerr << "vigilctl " << command << ": unexpected argument '" << args[i] << "'\n"
                << kUsage;
      return kCtlUsage;
    }
  }
  if (request.file.empty()) request.file = default_config_file();
  if (request.config_id.empty()) request.config_id = short_host_name();
  return run_config_check(request, std::cout, std::cerr);
}
