// vigild's run mode: load the configuration, start the services (IPVS side, checkers and VRRP
// side), and serve signals until told to stop: SIGHUP reloads (a bad configuration is refused and
// the running one stays), SIGUSR1 / SIGUSR2 make every service write its dumps, SIGTERM/SIGINT
// stop cleanly.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "daemon/lvs/lvs_service.h"
#include "daemon/options.h"
#include "daemon/service.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::daemon {

// Builds the services for a run (the production set, or fakes in tests), once the run is in its
// network namespace.
using ServiceFactory = std::function<std::vector<std::unique_ptr<Service>>(
    event::EventLoop& main_loop, const RunFiles& files)>;

// The production services for `options` (-P: VRRP only, -C: IPVS side only), on the kernel's
// IPVS (ipvs_netlink_factory()).
ServiceFactory production_services(const DaemonOptions& options);
// The same services over the IPVS tables `datapath` opens (the IPVS side and lvs_sync_daemon
// each open their own handle): the seam of integration/netns's vigild-recording, which runs
// vigild's code path on an in-memory table where the kernel has no IPVS.
ServiceFactory production_services(const DaemonOptions& options, DatapathFactory datapath);

// Runs vigild in the foreground of the calling thread until a stop signal. Returns the exit
// code. Entering the network namespace (-s or net_namespace), daemonizing and the pid file are
// handled here too.
int run_daemon(const DaemonOptions& options, const ServiceFactory& services);

}  // namespace vigil::daemon
