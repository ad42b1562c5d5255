// A Datapath for integration tests only (never installed): an in-memory IPVS table that applies
// each operation as the kernel does (net/netfilter/ipvs/ip_vs_ctl.c: adding what exists is
// EEXIST, a missing service ESRCH, a missing destination ENOENT, deleting a service drops its
// destinations) and appends one JSON line per operation to a journal file:
//
//   {"t_ms": 12.5, "mono_ms": 8812345.1, "op": "NEW_DEST", "service": "TCP 192.0.2.50:80",
//    "dest": "192.0.2.101:8080", "method": "masq", "weight": 1, "error": 0}
//
// t_ms counts from the recorder's creation, mono_ms is CLOCK_MONOTONIC (Python's
// time.monotonic() * 1000 on the same host), so a test orders operations against the faults it
// applied. vigild-recording (vigild_recording.cc) runs vigild's code path on it where the kernel
// has no IPVS.
#pragma once

#include <memory>
#include <string>

#include "daemon/lvs/lvs_service.h"

namespace vigil::integration {

// Every datapath the factory opens shares one table and one journal (the IPVS side and
// lvs_sync_daemon each open a handle, as with the kernel).
daemon::DatapathFactory recording_datapath_factory(const std::string& journal_file);

}  // namespace vigil::integration
