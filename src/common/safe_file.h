// Writing and reading files as root in directories others may write to (/tmp, $TMPDIR) without
// following what they planted there. Every file vigild writes goes through replace_file; the
// files it reads back (the pid file, the IPVS ownership state) through read_file_nofollow.
//
// Only the last component of a path is guarded: the directories above it are the operator's
// choice (/tmp may itself be a symbolic link). What a local user can plant is a name inside a
// world-writable directory, and that name is never followed: a symbolic link (or a hard link) at
// the path is replaced by a new file, and its target is never opened.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vigil {

struct ReplaceOptions {
  // The new file's permission bits, exactly: the umask does not apply.
  mode_t mode = 0600;
  // An existing regular file's owner, group and permission bits carry over to the new file
  // (track_file's init_file, which a non-root writer may own). A symbolic link's do not.
  bool keep_owner_and_mode = false;
  // fsync the file before the rename and its directory after: a crash leaves the old contents
  // or the new ones.
  bool sync = false;
};

// What was at the path before replace_file put the new file there.
enum class Replaced { kNothing, kRegularFile, kSymlink };

// Replaces `path` with a new regular file holding `contents`, atomically: a temporary file is
// created next to it (O_CREAT | O_EXCL | O_NOFOLLOW, in the directory opened once), written in
// full, given its mode (and owner), and renamed over `path`. A symbolic link at `path` is
// replaced, never followed (the caller should warn: replaced_symlink_message). A directory or
// any other non-regular file at `path` (FIFO, socket, device) is refused with an error naming
// what it is. The temporary file never outlives a failure.
Result<Replaced> replace_file(const std::string& path, std::string_view contents,
                              const ReplaceOptions& options = {});

// "PATH was a symbolic link: replaced with a new file (its target is untouched)".
std::string replaced_symlink_message(const std::string& path);

// The whole of a regular file, opened without following a symbolic link (O_NOFOLLOW) and without
// blocking on a FIFO. No file at `path` is nullopt; a symbolic link, a directory or another
// non-regular file, or one larger than `max_size`, is an error naming what it is.
Result<std::optional<std::string>> read_file_nofollow(const std::string& path,
                                                      size_t max_size = size_t{1} << 20);

// Makes sure `path` is a directory owned by this process's effective user (root for vigild),
// creating it with `mode` when it is missing (one level: its parent must exist). A symbolic link,
// a non-directory or a directory someone else owns is refused: state kept there could be
// replaced or removed by that someone.
Status ensure_owned_directory(const std::string& path, mode_t mode = 0755);

// "a regular file", "a symbolic link", "a directory", "a FIFO", "a socket", "a character
// device", "a block device" (st_mode's file type), for errors.
std::string_view file_type_name(mode_t mode);

}  // namespace vigil
