// keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`) as the VRRP side writes them:
// the line format; the FIFO itself is common/notify_fifo.h. As in keepalived, the
// `*_fifo_script` runs with the FIFO's name appended as its last argument, kept running for as
// long as the FIFO is configured.
#pragma once

#include <string>
#include <string_view>

#include "common/notify_fifo.h"
#include "vrrp/state_machine.h"

namespace vigil::daemon {

// `INSTANCE "VI_1" MASTER 100` / `GROUP "VG_1" BACKUP 0`, newline-terminated: the last four
// arguments of a generic `notify` script, the name quoted. `state` is MASTER, BACKUP, FAULT,
// STOP or MASTER_RX_LOWER_PRI.
std::string fifo_instance_line(std::string_view instance, std::string_view state,
                               unsigned priority);
std::string fifo_group_line(std::string_view group, std::string_view state);
// notify_priority_changes: `INSTANCE "VI_1" MASTER_PRIORITY 90` while MASTER, BACKUP_PRIORITY in
// any other state (keepalived 2.2.7 vrrp_notify.c send_instance_priority_notifies, which calls
// no script).
std::string fifo_priority_change_line(std::string_view instance, vrrp::State state,
                                      unsigned priority);

using vigil::NotifyFifo;

}  // namespace vigil::daemon
