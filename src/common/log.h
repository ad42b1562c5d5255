// One spdlog logger per component ("config", "vrrp", "check", "ipvs", "daemon").
// Every line names its instance: log lines are written as "[VI_1] message".
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace vigil::log {

struct Options {
  bool console = true;  // stderr; otherwise syslog (daemon facility)
  spdlog::level::level_enum level = spdlog::level::info;
  std::string ident = "vigild";  // syslog ident
};

// Installs the sinks for every component logger, existing and future. Call once at startup;
// before it is called, loggers write to stderr at info level.
void setup(const Options& options);

// The logger of `component`, created on first use with the sinks from setup().
std::shared_ptr<spdlog::logger> get(const std::string& component);

// At run time (vigilctl log level): the level of one component that exists already, or of every
// one (an empty `component`, which also drops the components' own levels).
Status set_level(const std::string& component, spdlog::level::level_enum level);

}  // namespace vigil::log
