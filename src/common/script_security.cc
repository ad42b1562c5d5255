#include "common/script_security.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace vigil::script_security {
namespace {

FileStatus from_stat(const struct stat& st) {
  return FileStatus{.mode = st.st_mode,
                    .uid = st.st_uid,
                    .gid = st.st_gid,
                    .device = st.st_dev,
                    .inode = st.st_ino};
}

// "/", "/usr", "/usr/bin", "/usr/bin/check" for "/usr/bin/check" (an absolute, resolved path).
std::vector<std::string> path_elements(const std::string& path) {
  std::vector<std::string> out{"/"};
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1))
    out.push_back(path.substr(0, slash));
  if (path.size() > 1) out.push_back(path);
  return out;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dir_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string join(const std::string& directory, const std::string& name) {
  return directory == "/" ? "/" + name : directory + "/" + name;
}

// Checks every element of `path`; the verdict of the first problem, if any.
std::optional<Assessment> walk(const std::string& path, bool enforce, const FileInspector& files) {
  const auto elements = path_elements(path);
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string& element = elements[i];
    const bool last = i + 1 == elements.size();
    auto status = files.lstat(element);
    if (!status) {
      return Assessment{.verdict = Verdict::kNotFound, .reason = status.error().message};
    }
    const ElementProblem problem = judge_element(*status, last);
    switch (problem) {
      case ElementProblem::kNone:
        continue;
      case ElementProblem::kWrongType:
        return Assessment{.verdict = Verdict::kWrongType,
                          .reason = fmt::format("{} is {}", element,
                                                last ? "not a regular file" : "not a directory")};
      case ElementProblem::kNotOwnedByRoot:
        return Assessment{
            .verdict = enforce ? Verdict::kRefused : Verdict::kInsecure,
            .reason = fmt::format("{} is owned by uid {}, not root", element, status->uid)};
      case ElementProblem::kWritableByOthers: {
        const bool by_others = (status->mode & S_IWOTH) != 0;
        return Assessment{
            .verdict = enforce ? Verdict::kRefused : Verdict::kInsecure,
            .reason = fmt::format("{} is writable by {}", element,
                                  by_others ? "others" : fmt::format("group {}", status->gid))};
      }
    }
  }
  return std::nullopt;
}

// A bare name: the first regular file of that name in `search_path` that `who` may execute.
std::optional<std::string> find_in_path(const std::string& name, Identity who,
                                        std::string_view search_path, const FileInspector& files) {
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    std::string directory(search_path.substr(start, end - start));
    if (directory.empty()) directory = ".";
    const std::string candidate = join(directory, name);
    auto status = files.stat(candidate);
    if (status && S_ISREG(status->mode) && executable_by(*status, who)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

Result<FileStatus> LinuxFileInspector::lstat(const std::string& path) const {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_error(path, errno);
  return from_stat(st);
}

Result<FileStatus> LinuxFileInspector::stat(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error(path, errno);
  return from_stat(st);
}

Result<std::string> LinuxFileInspector::canonical(const std::string& path) const {
  const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                             &std::free);
  if (!resolved) return errno_error(path, errno);
  return std::string(resolved.get());
}

std::string_view to_string(ElementProblem problem) {
  switch (problem) {
    case ElementProblem::kNone:
      return "secure";
    case ElementProblem::kWrongType:
      return "wrong type";
    case ElementProblem::kNotOwnedByRoot:
      return "not owned by root";
    case ElementProblem::kWritableByOthers:
      return "writable by a non-root group or others";
  }
  return "?";
}

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kSecure:
      return "secure";
    case Verdict::kInsecure:
      return "insecure";
    case Verdict::kRefused:
      return "refused as insecure";
    case Verdict::kNotFound:
      return "not found";
    case Verdict::kWrongType:
      return "wrong file type";
    case Verdict::kNotExecutable:
      return "not executable";
  }
  return "?";
}

ElementProblem judge_element(const FileStatus& status, bool last) {
  const bool directory = S_ISDIR(status.mode);
  const bool regular = S_ISREG(status.mode);
  // A link can only be last: the script path was resolved, except for a configured name kept
  // for a link to the same file.
  if (last ? !(regular || S_ISLNK(status.mode)) : !directory) return ElementProblem::kWrongType;
  if (status.uid != 0) return ElementProblem::kNotOwnedByRoot;
  const bool sticky = (status.mode & S_ISVTX) != 0;
  const bool others_may_write =
      (status.gid != 0 && (status.mode & S_IWGRP) != 0) || (status.mode & S_IWOTH) != 0;
  // A link's own mode means nothing; a sticky directory keeps root's entries root's.
  if (((directory && !sticky) || regular) && others_may_write)
    return ElementProblem::kWritableByOthers;
  return ElementProblem::kNone;
}

bool executable_by(const FileStatus& file, Identity who) {
  if (who.uid == 0) return (file.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
  if (who.uid == file.uid) return (file.mode & S_IXUSR) != 0;
  if (who.gid == file.gid) return (file.mode & S_IXGRP) != 0;
  return (file.mode & S_IXOTH) != 0;
}

bool runs_privileged(const FileStatus& file, Identity who) {
  const bool setuid_root = file.uid == 0 && (file.mode & S_IXUSR) && (file.mode & S_ISUID);
  const bool setgid_root = file.gid == 0 && (file.mode & S_IXGRP) && (file.mode & S_ISGID);
  return who.uid == 0 || who.gid == 0 || setuid_root || setgid_root;
}

Assessment assess(const std::string& program, Identity who, bool enforce,
                  const FileInspector& files, std::string_view search_path) {
  std::string path = program;
  if (path.find('/') == std::string::npos) {
    auto found = find_in_path(path, who, search_path, files);
    if (!found) {
      return Assessment{.verdict = Verdict::kNotFound,
                        .reason = fmt::format("no executable {} in {}", program, search_path)};
    }
    path = *found;
  }
  auto resolved = files.canonical(path);
  if (!resolved)
    return Assessment{.verdict = Verdict::kNotFound, .reason = resolved.error().message};

  auto file = files.stat(*resolved);
  if (!file) return Assessment{.verdict = Verdict::kNotFound, .reason = file.error().message};

  // Programs may behave after the name they are called by: where a link of the configured name
  // in the resolved directory leads to the same file, run it by that name (and judge both).
  std::string run_path = *resolved;
  std::string real_path;
  if (base_name(path) != base_name(*resolved)) {
    const std::string named = join(dir_name(*resolved), base_name(path));
    auto named_status = files.stat(named);
    if (named_status && named_status->device == file->device &&
        named_status->inode == file->inode) {
      run_path = named;
      real_path = *resolved;
    }
  }

  Assessment result{.verdict = Verdict::kSecure, .program = run_path};
  if (!executable_by(*file, who)) {
    result.verdict = Verdict::kNotExecutable;
    result.reason =
        fmt::format("{} is not executable by uid {} gid {}", run_path, who.uid, who.gid);
    return result;
  }
  result.privileged = runs_privileged(*file, who);
  if (!result.privileged) return result;
  for (const std::string* checked : {&run_path, &real_path}) {
    if (checked->empty()) continue;
    if (auto problem = walk(*checked, enforce, files)) {
      problem->program = run_path;
      problem->privileged = true;
      return *problem;
    }
  }
  return result;
}

}  // namespace vigil::script_security
