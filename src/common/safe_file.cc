#include "common/safe_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>

#include "common/unique_fd.h"

namespace vigil {
namespace {

struct SplitPath {
  std::string directory;  // "." when the path has no slash
  std::string name;
};

SplitPath split(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// A name no one can guess ahead of us; O_EXCL refuses one that exists anyway.
std::string temporary_name(const std::string& name) {
  std::array<unsigned char, 6> bytes{};
  if (getrandom(bytes.data(), bytes.size(), GRND_NONBLOCK) != static_cast<ssize_t>(bytes.size())) {
    // No entropy yet (early boot): unique within the process, and O_EXCL still guards.
    static std::atomic<unsigned> counter{0};
    const unsigned n = counter.fetch_add(1) ^ static_cast<unsigned>(getpid());
    for (size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<unsigned char>(n >> (8 * (i % sizeof n)));
  }
  std::string text = "." + name + ".tmp-";
  for (unsigned char byte : bytes)
    text += fmt::format("{:02x}", byte);
  return text;
}

Status write_all(int fd, std::string_view contents, const std::string& what) {
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("cannot write " + what, errno);
    if (n == 0) return Error{"cannot write " + what + ": no progress"};
    written += static_cast<size_t>(n);
  }
  return {};
}

// Removes the temporary file unless the rename consumed it.
class TemporaryFile {
 public:
  TemporaryFile(int directory, std::string name) : directory_(directory), name_(std::move(name)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!renamed_) ::unlinkat(directory_, name_.c_str(), 0);
  }
  void renamed() { renamed_ = true; }

 private:
  int directory_;
  std::string name_;
  bool renamed_ = false;
};

}  // namespace

std::string_view file_type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFLNK:
      return "a symbolic link";
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    default:
      return "a file of unknown type";
  }
}

std::string replaced_symlink_message(const std::string& path) {
  return path + " was a symbolic link: replaced with a new file (its target is untouched)";
}

Result<Replaced> replace_file(const std::string& path, std::string_view contents,
                              const ReplaceOptions& options) {
  const auto [directory_path, name] = split(path);
  if (name.empty() || name == "." || name == "..") return Error{path + ": not a file name"};
  UniqueFd directory(::open(directory_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.valid()) return errno_error("cannot open the directory of " + path, errno);

  // What is there now, not followed. A check for a clear error only: the rename below never
  // follows a link whatever the path has become, and fails on a directory.
  Replaced replaced = Replaced::kNothing;
  struct stat existing {};
  if (::fstatat(directory.get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(existing.st_mode)) {
      replaced = Replaced::kSymlink;
    } else if (S_ISREG(existing.st_mode)) {
      replaced = Replaced::kRegularFile;
    } else {
      return Error{fmt::format("{} is {}, not a regular file: not written", path,
                               file_type_name(existing.st_mode))};
    }
  } else if (errno != ENOENT) {
    return errno_error("cannot inspect " + path, errno);
  }

  std::string temporary;
  UniqueFd file;
  for (int attempt = 0; attempt < 16 && !file.valid(); ++attempt) {
    temporary = temporary_name(name);
    file.reset(::openat(directory.get(), temporary.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.mode & 0777));
    if (!file.valid() && errno != EEXIST)
      return errno_error("cannot create a temporary file for " + path, errno);
  }
  if (!file.valid()) return Error{"cannot create a temporary file for " + path + ": names taken"};
  TemporaryFile guard(directory.get(), temporary);

  mode_t mode = options.mode & 0777;
  if (options.keep_owner_and_mode && replaced == Replaced::kRegularFile) {
    // chown before chmod: chown may clear mode bits.
    if (::fchown(file.get(), existing.st_uid, existing.st_gid) != 0)
      return errno_error("cannot give the new " + path + " its owner", errno);
    mode = existing.st_mode & 0777;
  }
  if (::fchmod(file.get(), mode) != 0) return errno_error("cannot chmod the new " + path, errno);
  if (auto written = write_all(file.get(), contents, path); !written) return written.error();
  if (options.sync && ::fsync(file.get()) != 0) return errno_error("cannot sync " + path, errno);
  if (::close(file.release()) != 0) return errno_error("cannot write " + path, errno);
  if (::renameat(directory.get(), temporary.c_str(), directory.get(), name.c_str()) != 0) {
    const int err = errno;
    if (err == EISDIR) return Error{path + " is a directory, not a regular file: not written"};
    return errno_error("cannot replace " + path, err);
  }
  guard.renamed();
  if (options.sync && ::fsync(directory.get()) != 0)
    return errno_error("cannot sync the directory of " + path, errno);
  return replaced;
}

Result<std::optional<std::string>> read_file_nofollow(const std::string& path, size_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) return std::optional<std::string>{};
    if (err == ELOOP) return Error{path + " is a symbolic link: not read"};
    return errno_error(path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Error{
        fmt::format("{} is {}, not a regular file: not read", path, file_type_name(st.st_mode))};
  }
  if (static_cast<size_t>(st.st_size) > max_size)
    return Error{fmt::format("{} is larger than {} bytes: not read", path, max_size)};
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path, errno);
    if (n == 0) break;
    text.append(buffer.data(), static_cast<size_t>(n));
    if (text.size() > max_size)
      return Error{fmt::format("{} is larger than {} bytes: not read", path, max_size)};
  }
  return std::optional<std::string>{std::move(text)};
}

Status ensure_owned_directory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return {};
  if (errno != EEXIST) return errno_error("cannot create " + path, errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_error("cannot inspect " + path, errno);
  if (!S_ISDIR(st.st_mode)) {
    return Error{
        fmt::format("{} is {}, not a directory: not used", path, file_type_name(st.st_mode))};
  }
  if (st.st_uid != ::geteuid()) {
    return Error{fmt::format("{} is owned by uid {}, not by uid {}: not used", path, st.st_uid,
                             ::geteuid())};
  }
  return {};
}

}  // namespace vigil
