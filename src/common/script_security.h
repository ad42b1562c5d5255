// Script security (keepalived's enable_script_security): whether a script may run, judged from
// the file system. A script that runs as root (or as group root, or is set-uid/set-gid root) is
// insecure when a non-root user can change the file or any directory on its path, symbolic links
// resolved; under enable_script_security it is refused, without it it runs with a warning.
// Missing, wrongly typed and non-executable scripts never run.
//
// The rule is pure: judge_element() looks at one path element, assess() walks a script over a
// FileInspector (LinuxFileInspector in production, an in-memory one in tests).
// docs/security.md states the rule for operators.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vigil::script_security {

// What lstat() / stat() say of one path.
struct FileStatus {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  dev_t device = 0;
  ino_t inode = 0;
};

// The file system as the rule sees it.
class FileInspector {
 public:
  virtual ~FileInspector() = default;
  // The path itself, a symbolic link not followed.
  [[nodiscard]] virtual Result<FileStatus> lstat(const std::string& path) const = 0;
  // What the path leads to, symbolic links followed.
  [[nodiscard]] virtual Result<FileStatus> stat(const std::string& path) const = 0;
  // The absolute path with ".", ".." and every symbolic link resolved (realpath(3)).
  [[nodiscard]] virtual Result<std::string> canonical(const std::string& path) const = 0;
};

class LinuxFileInspector final : public FileInspector {
 public:
  [[nodiscard]] Result<FileStatus> lstat(const std::string& path) const override;
  [[nodiscard]] Result<FileStatus> stat(const std::string& path) const override;
  [[nodiscard]] Result<std::string> canonical(const std::string& path) const override;
};

// Who a script runs as.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
};

enum class ElementProblem : uint8_t {
  kNone,
  kWrongType,         // not a directory before the last element; not a file or link at the end
  kNotOwnedByRoot,    // its owner can change it
  kWritableByOthers,  // a file, or a directory without the sticky bit, that a non-root group or
                      // everyone may write
};
std::string_view to_string(ElementProblem problem);

// One element of a script's path ("/", "/usr", "/usr/bin", "/usr/bin/check"); `last` for the
// script itself. A directory with the sticky bit (such as /tmp) may be world-writable: others
// cannot replace what root put there. A group-writable element is fine when the group is root.
ElementProblem judge_element(const FileStatus& status, bool last);

// Whether `who` may execute the file (execute bit of owner, group or others as they apply to
// `who`; root needs any execute bit).
bool executable_by(const FileStatus& file, Identity who);

// Whether the script needs its path protected: it runs as uid or gid 0, or the file is set-uid
// root / set-gid root.
bool runs_privileged(const FileStatus& file, Identity who);

enum class Verdict : uint8_t {
  kSecure,         // runs
  kInsecure,       // runs, with a warning: no enable_script_security
  kRefused,        // insecure under enable_script_security: never run
  kNotFound,       // missing or unreachable: never run
  kWrongType,      // an element of its path has the wrong type: never run
  kNotExecutable,  // no execute permission for the user it runs as: never run
};
std::string_view to_string(Verdict verdict);

struct Assessment {
  Verdict verdict = Verdict::kNotFound;
  // What to execute: the path with every symbolic link resolved (keeping the configured file name
  // when a link to the same file sits in the resolved directory), so that a link swapped after
  // the check is never followed. Empty when the script was not found.
  std::string program;
  // Why, for the log: "/srv/scripts is writable by a non-root group or by others".
  std::string reason;
  bool privileged = false;  // the path had to be protected (runs_privileged)

  [[nodiscard]] bool runs() const {
    return verdict == Verdict::kSecure || verdict == Verdict::kInsecure;
  }
};

// Judges the script `program` (argv[0] as configured: an absolute or relative path, or a bare
// name looked up in `search_path`, colon-separated) for `who`; `enforce` is
// enable_script_security.
Assessment assess(const std::string& program, Identity who, bool enforce,
                  const FileInspector& files, std::string_view search_path);

}  // namespace vigil::script_security
