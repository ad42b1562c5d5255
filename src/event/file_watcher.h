// Watching files for changes with inotify, for track_file (VRRP) and FILE_CHECK (checkers):
// keepalived watches with inotify and never polls. The decisions are pure (which inotify events
// concern which tracked path); InotifyFileWatcher is the thin shell: one inotify fd on a loop, a
// watch per directory, so that a file created later, removed, or replaced by a rename (as
// editors save) is seen like a file written in place.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"

namespace vigil::event {

class EventLoop;
class FdWatcher;

// A tracked path split into the directory that is watched and the name looked for in it.
struct WatchedPath {
  std::string directory;  // "." for a bare name
  std::string name;
  bool operator==(const WatchedPath&) const = default;
};
WatchedPath split_watched_path(const std::string& path);

// The inotify events a directory watch asks for, and whether an event for a name in it means the
// file's value must be read again: written and closed, created, moved in or out, removed.
// In-place writes are taken at close, not at each write(), so a half-written number is not read.
uint32_t watched_directory_mask();
bool event_rereads_file(uint32_t mask);
// The directory itself went away (deleted, moved, unmounted): its watch is gone.
bool event_loses_directory(uint32_t mask);

// Watches files for changes. `changed(path)` runs on the loop for each watched path that may have
// changed; after a queue overflow it runs for every path.
class FileChangeWatcher {
 public:
  virtual ~FileChangeWatcher() = default;
  // Replaces the watched set. A path whose directory cannot be watched (missing) is returned in
  // the error with the reason; the other paths are watched.
  virtual Status watch(const std::set<std::string>& paths) = 0;
};

class InotifyFileWatcher final : public FileChangeWatcher {
 public:
  using Changed = std::function<void(const std::string& path)>;
  // `who` names the user in log lines: "[vrrp] track_file", "[check] FILE_CHECK".
  static Result<std::unique_ptr<InotifyFileWatcher>> open(EventLoop& loop, std::string who,
                                                          Changed changed);
  InotifyFileWatcher(const InotifyFileWatcher&) = delete;
  InotifyFileWatcher& operator=(const InotifyFileWatcher&) = delete;
  ~InotifyFileWatcher() override;

  Status watch(const std::set<std::string>& paths) override;

 private:
  InotifyFileWatcher(int fd, std::string who, Changed changed);
  void drain();
  void changed_all();

  int fd_;
  std::string who_;
  Changed changed_;
  std::unique_ptr<FdWatcher> watcher_;
  std::set<std::string> paths_;
  // watch descriptor -> directory, and the tracked paths in each directory by name.
  std::map<int, std::string> directories_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> by_directory_;
};

}  // namespace vigil::event
