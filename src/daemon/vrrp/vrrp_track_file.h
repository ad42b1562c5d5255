// track_file: the number in a file, re-read whenever the file changes (keepalived watches with
// inotify; there is no polling). The decisions are pure (what a file's text is worth, which
// inotify events concern which tracked path, what init_file does); InotifyFileWatcher is the thin
// shell: one inotify fd on the VRRP loop, a watch per directory, so that a file created later,
// removed, or replaced by a rename (as editors save) is seen like a file written in place.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vigil::event {
class EventLoop;
class FdWatcher;
}  // namespace vigil::event

namespace vigil::daemon {

// keepalived: the leading integer of the file's text (blanks before it allowed); a file that is
// missing, unreadable, empty or does not start with a number counts as 0.
int64_t parse_track_file_value(std::string_view contents);
// Reads at most the first 127 bytes of `path` (keepalived reads no more) and parses them.
int64_t read_track_file_value(const std::string& path);

// init_file [VALUE] [overwrite]: what to write at startup (VALUE and a newline) when the file is
// missing, or always with overwrite; nothing when init_file is not set.
std::optional<std::string> track_file_init_contents(std::optional<int64_t> init_value,
                                                    bool overwrite, bool file_exists);

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
uint32_t track_file_directory_mask();
bool track_file_event_rereads(uint32_t mask);
// The directory itself went away (deleted, moved, unmounted): its watch is gone.
bool track_file_event_loses_directory(uint32_t mask);

// Watches files for changes. `changed(path)` runs on the loop for each tracked path that may have
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
  static Result<std::unique_ptr<InotifyFileWatcher>> open(event::EventLoop& loop, Changed changed);
  InotifyFileWatcher(const InotifyFileWatcher&) = delete;
  InotifyFileWatcher& operator=(const InotifyFileWatcher&) = delete;
  ~InotifyFileWatcher() override;

  Status watch(const std::set<std::string>& paths) override;

 private:
  InotifyFileWatcher(int fd, Changed changed);
  void drain();
  void changed_all();

  int fd_;
  Changed changed_;
  std::unique_ptr<event::FdWatcher> watcher_;
  std::set<std::string> paths_;
  // watch descriptor -> directory, and the tracked paths in each directory by name.
  std::map<int, std::string> directories_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> by_directory_;
};

}  // namespace vigil::daemon
