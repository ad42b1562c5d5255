// keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`) as the VRRP side writes them:
// the line format; the FIFO itself is common/notify_fifo.h. As in keepalived, the
// `*_fifo_script` runs with the FIFO's name appended as its last argument, kept running for as
// long as the FIFO is configured.
#pragma once

#include <string>
#include <string_view>

#include "common/notify_fifo.h"

namespace vigil::daemon {

// `INSTANCE "VI_1" MASTER 100` / `GROUP "VG_1" BACKUP 0`, newline-terminated: the last four
// arguments of a generic `notify` script, the name quoted. `state` is MASTER, BACKUP, FAULT,
// STOP or MASTER_RX_LOWER_PRI.
std::string fifo_instance_line(std::string_view instance, std::string_view state,
                               unsigned priority);
std::string fifo_group_line(std::string_view group, std::string_view state);

using vigil::NotifyFifo;

}  // namespace vigil::daemon
