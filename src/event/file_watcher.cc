#include "event/file_watcher.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "common/log.h"
#include "common/result.h"
#include "event/fd_watcher.h"

namespace vigil::event {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("event");
  return *instance;
}

}  // namespace

WatchedPath split_watched_path(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

uint32_t watched_directory_mask() {
  return IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
         IN_MOVE_SELF | IN_ONLYDIR;
}

bool event_rereads_file(uint32_t mask) {
  return (mask & (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) != 0;
}

bool event_loses_directory(uint32_t mask) {
  return (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) != 0;
}

// ---- the inotify shell ------------------------------------------------------------------------

Result<std::unique_ptr<InotifyFileWatcher>> InotifyFileWatcher::open(EventLoop& loop,
                                                                     std::string who,
                                                                     Changed changed) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_error("inotify_init1", errno);
  std::unique_ptr<InotifyFileWatcher> out(
      new InotifyFileWatcher(fd, std::move(who), std::move(changed)));
  auto watcher = FdWatcher::create(loop, fd);
  if (!watcher) return watcher.error();
  out->watcher_ = std::move(*watcher);
  out->watcher_->on_readable([raw = out.get()] { raw->drain(); });
  return out;
}

InotifyFileWatcher::InotifyFileWatcher(int fd, std::string who, Changed changed)
    : fd_(fd), who_(std::move(who)), changed_(std::move(changed)) {}

InotifyFileWatcher::~InotifyFileWatcher() {
  watcher_.reset();
  ::close(fd_);
}

Status InotifyFileWatcher::watch(const std::set<std::string>& paths) {
  for (const auto& [wd, directory] : directories_)
    ::inotify_rm_watch(fd_, wd);
  directories_.clear();
  by_directory_.clear();
  paths_ = paths;
  std::string failures;
  std::map<std::string, int> added;
  for (const auto& path : paths) {
    const WatchedPath where = split_watched_path(path);
    auto it = added.find(where.directory);
    if (it == added.end()) {
      const int wd = ::inotify_add_watch(fd_, where.directory.c_str(), watched_directory_mask());
      if (wd < 0) {
        const Error error =
            errno_error(fmt::format("{}: cannot watch {}", path, where.directory), errno);
        failures += (failures.empty() ? "" : "; ") + error.message;
        continue;
      }
      it = added.emplace(where.directory, wd).first;
      directories_[wd] = where.directory;
    }
    by_directory_[where.directory][where.name].push_back(path);
  }
  if (!failures.empty()) return Error{failures};
  return {};
}

void InotifyFileWatcher::changed_all() {
  const auto paths = paths_;  // the callback may re-watch
  for (const auto& path : paths)
    changed_(path);
}

void InotifyFileWatcher::drain() {
  alignas(inotify_event) std::array<char, 4096> buffer{};
  // Collected first and reported after the read loop: a callback may call watch().
  std::set<std::string> changed;
  bool overflow = false;
  for (int round = 0; round < 64; ++round) {
    const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
    if (got <= 0) break;  // EAGAIN: drained
    for (ssize_t offset = 0; offset + static_cast<ssize_t>(sizeof(inotify_event)) <= got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if ((event->mask & IN_Q_OVERFLOW) != 0) {
        overflow = true;
        continue;
      }
      auto dir = directories_.find(event->wd);
      if (dir == directories_.end()) continue;
      const auto& names = by_directory_[dir->second];
      if (event_loses_directory(event->mask)) {
        // Every file in it is gone; the directory is watched again at the next reload.
        logger().warn("{} directory {} went away: its files count as 0", who_, dir->second);
        for (const auto& [name, paths] : names)
          changed.insert(paths.begin(), paths.end());
        directories_.erase(dir);
        continue;
      }
      if (event->len == 0 || !event_rereads_file(event->mask)) continue;
      auto hit = names.find(event->name);
      if (hit != names.end()) changed.insert(hit->second.begin(), hit->second.end());
    }
  }
  if (overflow) {
    logger().warn("{}: inotify queue overflowed, reading every file again", who_);
    changed_all();
    return;
  }
  for (const auto& path : changed)
    changed_(path);
}

}  // namespace vigil::event
