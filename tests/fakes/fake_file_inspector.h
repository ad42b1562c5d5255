// An in-memory file system for the script-security rule: directories, files and symbolic links
// with owners and modes. Parent directories are created root-owned 0755 as entries are added.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <string>

#include "common/script_security.h"

namespace vigil::testing {

class FakeFileInspector final : public script_security::FileInspector {
 public:
  FakeFileInspector() { entries_["/"] = {.status = status(S_IFDIR | 0755, 0, 0)}; }

  void add_dir(const std::string& path, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) {
    add(path, {.status = status(S_IFDIR | mode, uid, gid)});
  }
  void add_file(const std::string& path, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) {
    add(path, {.status = status(S_IFREG | mode, uid, gid)});
  }
  // `target` is absolute or relative to the link's directory.
  void add_link(const std::string& path, const std::string& target, uid_t uid = 0) {
    add(path, {.status = status(S_IFLNK | 0777, uid, 0), .target = target});
  }
  void remove(const std::string& path) { entries_.erase(path); }

  [[nodiscard]] Result<script_security::FileStatus> lstat(const std::string& path) const override {
    auto it = entries_.find(path);
    if (it != entries_.end()) return it->second.status;
    return errno_error(path, ENOENT);
  }

  [[nodiscard]] Result<script_security::FileStatus> stat(const std::string& path) const override {
    auto resolved = canonical(path);
    if (!resolved) return resolved.error();
    return lstat(*resolved);
  }

  [[nodiscard]] Result<std::string> canonical(const std::string& path) const override {
    std::string pending = path.starts_with('/') ? path : "/" + path;
    std::string done;  // resolved so far, "" meaning "/"
    for (int links = 0; links < 40;) {
      if (pending.empty()) return done.empty() ? "/" : done;
      size_t start = pending.find_first_not_of('/');
      if (start == std::string::npos) return done.empty() ? "/" : done;
      size_t end = pending.find('/', start);
      std::string name = pending.substr(start, end == std::string::npos ? end : end - start);
      pending = end == std::string::npos ? "" : pending.substr(end);
      if (name == ".") continue;
      if (name == "..") {
        done = done.substr(0, done.rfind('/'));
        continue;
      }
      const std::string next = done + "/" + name;
      auto status = lstat(next);
      if (!status) return status.error();
      if (S_ISLNK(status->mode)) {
        ++links;
        const std::string& target = entries_.at(next).target;
        pending = (target.starts_with('/') ? target : done + "/" + target) + pending;
        done.clear();
        continue;
      }
      if (!pending.empty() && !S_ISDIR(status->mode)) return errno_error(next, ENOTDIR);
      done = next;
    }
    return errno_error(path, ELOOP);
  }

 private:
  struct Entry {
    script_security::FileStatus status;
    std::string target;
  };
  static script_security::FileStatus status(mode_t mode, uid_t uid, gid_t gid) {
    return {.mode = mode, .uid = uid, .gid = gid, .device = 1, .inode = 0};
  }
  void add(const std::string& path, Entry entry) {
    entry.status.inode = ++last_inode_;
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      if (!entries_.contains(parent)) {
        entries_[parent] = {.status = status(S_IFDIR | 0755, 0, 0)};
        entries_[parent].status.inode = ++last_inode_;
      }
    }
    entries_[path] = std::move(entry);
  }
  std::map<std::string, Entry> entries_;
  ino_t last_inode_ = 1;
};

}  // namespace vigil::testing
