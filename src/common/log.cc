#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>

#include <mutex>
#include <vector>

namespace vigil::log {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  spdlog::level::level_enum level = spdlog::level::info;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

void configure(spdlog::logger& logger, const Registry& reg) {
  logger.sinks() = reg.sinks;
  logger.set_level(reg.level);
  logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %n: %v");
}

}  // namespace

void setup(const Options& options) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  reg.sinks.clear();
  if (options.console) {
    reg.sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    reg.sinks.push_back(std::make_shared<spdlog::sinks::syslog_sink_mt>(
        options.ident, LOG_PID, LOG_DAEMON, /*enable_formatting=*/false));
  }
  reg.level = options.level;
  spdlog::apply_all(
      [&](const std::shared_ptr<spdlog::logger>& logger) { configure(*logger, reg); });
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component);
  configure(*logger, reg);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace vigil::log
