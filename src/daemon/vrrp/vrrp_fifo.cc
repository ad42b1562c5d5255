#include "daemon/vrrp/vrrp_fifo.h"

#include <fmt/format.h>

#include "common/result.h"

namespace vigil::daemon {

std::string fifo_instance_line(std::string_view instance, std::string_view state,
                               unsigned priority) {
  return fmt::format("INSTANCE \"{}\" {} {}\n", instance, state, priority);
}

std::string fifo_group_line(std::string_view group, std::string_view state) {
  // keepalived sends priority 0 for groups.
  return fmt::format("GROUP \"{}\" {} 0\n", group, state);
}

std::string fifo_priority_change_line(std::string_view instance, vrrp::State state,
                                      unsigned priority) {
  return fifo_instance_line(
      instance, state == vrrp::State::kMaster ? "MASTER_PRIORITY" : "BACKUP_PRIORITY", priority);
}

}  // namespace vigil::daemon
