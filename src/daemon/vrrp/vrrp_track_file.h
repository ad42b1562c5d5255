// track_file for the VRRP side: the value parsing lives in common/track_file.h and the inotify
// watcher in event/file_watcher.h (the checkers' FILE_CHECK uses both too). These names keep the
// VRRP sources unchanged until they use the shared ones directly.
#pragma once

#include <cstdint>
#include <string>

#include "common/track_file.h"
#include "event/file_watcher.h"

namespace vigil::daemon {

using event::FileChangeWatcher;
using event::InotifyFileWatcher;
using vigil::track_file_init_contents;

// The VRRP side's read: an out-of-range number counts as 0 (keepalived keeps the last value).
inline int64_t read_track_file_value(const std::string& path) {
  return vigil::read_track_file_value(path).value_or(0);
}

}  // namespace vigil::daemon
