#include "common/safe_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": errno " << errno;
  return st;
}

// A sticky world-writable directory, as /tmp is: where a local user plants links. The tests run
// as root (in CI too), so links and files can be given to nobody.
class SafeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0U) << "the unit tests run as root (scripts/test, CI)";
    std::string pattern = (fs::temp_directory_path() / "vigil-safe-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
    canary_ = dir_ / "canary";
    std::ofstream(canary_) << "canary bytes\n";
    ASSERT_EQ(::chmod(canary_.c_str(), 0640), 0);
    canary_before_ = lstat_of(canary_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A symbolic link at `name` to `target`, owned by `uid` (lchown).
  fs::path plant_link(const std::string& name, const fs::path& target, uid_t uid = kNobody) {
    fs::path link = dir_ / name;
    EXPECT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    EXPECT_EQ(::lchown(link.c_str(), uid, uid == 0 ? 0 : kNogroup), 0);
    return link;
  }

  void expect_canary_untouched() {
    EXPECT_EQ(read_text(canary_), "canary bytes\n");
    const auto st = lstat_of(canary_);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_ino, canary_before_.st_ino);
    EXPECT_EQ(st.st_mode, canary_before_.st_mode);
    EXPECT_EQ(st.st_uid, canary_before_.st_uid);
    EXPECT_EQ(st.st_size, canary_before_.st_size);
  }

  // Every name in the directory, sorted: a leftover temporary file shows here.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_))
      out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  fs::path canary_;
  struct stat canary_before_ {};
};

TEST_F(SafeFileTest, CreatesANewFileWithExactlyTheModeWhateverTheUmask) {
  const mode_t old_umask = ::umask(0077);
  auto written = replace_file(dir_ / "new", "one\n", ReplaceOptions{.mode = 0644});
  ::umask(old_umask);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kNothing);
  const auto st = lstat_of(dir_ / "new");
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(read_text(dir_ / "new"), "one\n");
  // The default is 0600: an empty umask does not widen it.
  const mode_t open_umask = ::umask(0);
  ASSERT_TRUE(replace_file(dir_ / "private", "x"));
  ::umask(open_umask);
  EXPECT_EQ(lstat_of(dir_ / "private").st_mode & 07777, 0600U);
}

TEST_F(SafeFileTest, ReplacesARegularFileByANewOne) {
  const fs::path path = dir_ / "file";
  std::ofstream(path) << "old contents that are longer\n";
  const auto before = lstat_of(path);
  auto written = replace_file(path, "new\n");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kRegularFile);
  EXPECT_EQ(read_text(path), "new\n");
  EXPECT_NE(lstat_of(path).st_ino, before.st_ino);  // renamed over, never truncated in place
  EXPECT_EQ(names(), (std::vector<std::string>{"canary", "file"}));
}

// CVE-2018-19046: a file someone else made at the path, readable by them (and writable by
// root), is not written into: a new root-owned 0600 file takes its name, and what they hold open
// keeps their bytes.
TEST_F(SafeFileTest, AFileSomeoneElsePlantedIsNotWrittenInto) {
  const fs::path path = dir_ / "vigil.data";
  std::ofstream(path) << "theirs\n";
  ASSERT_EQ(::chown(path.c_str(), kNobody, kNogroup), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  UniqueFd held(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(held.valid());
  auto written = replace_file(path, "secret dump\n");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kRegularFile);
  const auto st = lstat_of(path);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(read_text(path), "secret dump\n");
  std::array<char, 64> buffer{};
  const ssize_t n = ::pread(held.get(), buffer.data(), buffer.size(), 0);
  EXPECT_EQ(std::string(buffer.data(), n > 0 ? static_cast<size_t>(n) : 0), "theirs\n");
}

// CVE-2018-19044: a link planted at the path, by nobody or by root (fs.protected_symlinks=1
// stops root following a link nobody owns in a sticky directory, not one root owns).
TEST_F(SafeFileTest, ReplacesASymbolicLinkAndLeavesItsTargetUntouched) {
  for (const uid_t owner : {kNobody, uid_t{0}}) {
    SCOPED_TRACE(owner);
    const fs::path link = plant_link("dump-" + std::to_string(owner), canary_, owner);
    auto written = replace_file(link, "dump\n");
    ASSERT_TRUE(written) << written.error().message;
    EXPECT_EQ(*written, Replaced::kSymlink);
    expect_canary_untouched();
    const auto st = lstat_of(link);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600U);
    EXPECT_EQ(st.st_uid, 0U);
    EXPECT_EQ(read_text(link), "dump\n");
  }
  EXPECT_EQ(replaced_symlink_message("/tmp/vigil.data"),
            "/tmp/vigil.data was a symbolic link: replaced with a new file (its target is "
            "untouched)");
}

TEST_F(SafeFileTest, ADanglingLinkCreatesNothingAtItsTarget) {
  const fs::path target = dir_ / "would-be-created";
  const fs::path link = plant_link("dangling", target);
  auto written = replace_file(link, "x");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kSymlink);
  EXPECT_FALSE(fs::exists(fs::symlink_status(target)));
  EXPECT_TRUE(S_ISREG(lstat_of(link).st_mode));
}

TEST_F(SafeFileTest, ALinkToADirectoryIsReplacedAndTheDirectoryLeftAlone) {
  const fs::path target = dir_ / "target-dir";
  fs::create_directory(target);
  const fs::path link = plant_link("to-dir", target);
  auto written = replace_file(link, "x");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(fs::is_empty(target));
  EXPECT_TRUE(S_ISREG(lstat_of(link).st_mode));
}

// A hard link to a file the attacker cannot write (fs.protected_hardlinks=0): the rename replaces
// the name, not the file.
TEST_F(SafeFileTest, AHardLinkIsReplacedNotWrittenThrough) {
  const fs::path link = dir_ / "hard";
  ASSERT_EQ(::link(canary_.c_str(), link.c_str()), 0);
  auto written = replace_file(link, "dump\n");
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kRegularFile);
  expect_canary_untouched();
  EXPECT_EQ(read_text(link), "dump\n");
}

TEST_F(SafeFileTest, RefusesADirectoryAndLeavesNoTemporaryFile) {
  const fs::path path = dir_ / "a-dir";
  fs::create_directory(path);
  std::ofstream(path / "inside") << "kept\n";
  auto written = replace_file(path, "x");
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, path.string() +
                                         " is a directory, not a regular file: not "
                                         "written");
  EXPECT_EQ(read_text(path / "inside"), "kept\n");
  EXPECT_EQ(names(), (std::vector<std::string>{"a-dir", "canary"}));
}

TEST_F(SafeFileTest, RefusesAFifoASocketAndADevice) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path socket_path = dir_ / "socket";
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(sock.valid());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.string().size(), sizeof address.sun_path);
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  const fs::path device = dir_ / "null";
  ASSERT_EQ(::mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
  for (const auto& [path, what] : {std::pair{fifo, "a FIFO"}, std::pair{socket_path, "a socket"},
                                   std::pair{device, "a character device"}}) {
    auto written = replace_file(path, "x");
    ASSERT_FALSE(written) << path;
    EXPECT_EQ(written.error().message,
              path.string() + " is " + what + ", not a regular file: not written");
  }
  EXPECT_TRUE(S_ISFIFO(lstat_of(fifo).st_mode));
  EXPECT_TRUE(S_ISSOCK(lstat_of(socket_path).st_mode));
  EXPECT_EQ(names(), (std::vector<std::string>{"canary", "fifo", "null", "socket"}));
}

// A write that fails half-way (RLIMIT_FSIZE: EFBIG) leaves the old file as it was and no
// temporary file behind.
TEST_F(SafeFileTest, AFailedWriteLeavesTheOldFileAndNoTemporaryFile) {
  const fs::path path = dir_ / "state";
  std::ofstream(path) << "old\n";
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 8;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto written = replace_file(path, std::string(4096, 'x'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("cannot write " + path.string()), std::string::npos)
      << written.error().message;
  EXPECT_EQ(read_text(path), "old\n");
  EXPECT_EQ(names(), (std::vector<std::string>{"canary", "state"}));
}

TEST_F(SafeFileTest, AMissingDirectoryIsAnError) {
  auto written = replace_file(dir_ / "missing" / "file", "x");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("cannot open the directory of"), std::string::npos)
      << written.error().message;
  EXPECT_FALSE(replace_file(dir_.string() + "/", "x"));  // no file name
}

// track_file's init_file: a non-root writer's file stays theirs; a link does not pass its owner
// on.
TEST_F(SafeFileTest, KeepsTheOwnerAndModeOfAnExistingRegularFileWhenAsked) {
  const fs::path path = dir_ / "track";
  std::ofstream(path) << "0\n";
  ASSERT_EQ(::chown(path.c_str(), kNobody, kNogroup), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0664), 0);
  const ReplaceOptions keep{.mode = 0644, .keep_owner_and_mode = true};
  auto written = replace_file(path, "5\n", keep);
  ASSERT_TRUE(written) << written.error().message;
  auto st = lstat_of(path);
  EXPECT_EQ(st.st_uid, kNobody);
  EXPECT_EQ(st.st_gid, kNogroup);
  EXPECT_EQ(st.st_mode & 07777, 0664U);
  EXPECT_EQ(read_text(path), "5\n");

  const fs::path link = plant_link("track-link", canary_);
  ASSERT_TRUE(replace_file(link, "7\n", keep));
  st = lstat_of(link);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  expect_canary_untouched();

  // Without the option a nobody-owned file becomes root's, with the given mode.
  ASSERT_TRUE(replace_file(path, "6\n", ReplaceOptions{.mode = 0600}));
  st = lstat_of(path);
  EXPECT_EQ(st.st_uid, 0U);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
}

TEST_F(SafeFileTest, SyncedWritesReplaceToo) {
  const fs::path link = plant_link("synced", canary_);
  auto written = replace_file(link, "state\n", ReplaceOptions{.mode = 0600, .sync = true});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(*written, Replaced::kSymlink);
  expect_canary_untouched();
  EXPECT_EQ(read_text(link), "state\n");
}

TEST_F(SafeFileTest, ReadsARegularFileButNotThroughALink) {
  std::ofstream(dir_ / "pid") << "1234\n";
  auto text = read_file_nofollow(dir_ / "pid");
  ASSERT_TRUE(text) << text.error().message;
  ASSERT_TRUE(*text);
  EXPECT_EQ(**text, "1234\n");

  auto missing = read_file_nofollow(dir_ / "missing");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(*missing);

  const fs::path link = plant_link("link", canary_);
  auto through = read_file_nofollow(link);
  ASSERT_FALSE(through);
  EXPECT_EQ(through.error().message, link.string() + " is a symbolic link: not read");

  auto directory = read_file_nofollow(dir_);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message,
            dir_.string() + " is a directory, not a regular file: not read");

  // A FIFO with no writer would block a plain open: this one returns at once.
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  auto fifo = read_file_nofollow(dir_ / "fifo");
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("is a FIFO"), std::string::npos) << fifo.error().message;

  auto large = read_file_nofollow(dir_ / "pid", 3);
  ASSERT_FALSE(large);
  EXPECT_NE(large.error().message.find("larger than 3 bytes"), std::string::npos);
}

TEST_F(SafeFileTest, EnsuresADirectoryRootOwns) {
  const fs::path made = dir_ / "state";
  const mode_t old_umask = ::umask(0077);
  ASSERT_TRUE(ensure_owned_directory(made, 0755));
  ::umask(old_umask);
  auto st = lstat_of(made);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, 0U);
  ASSERT_TRUE(ensure_owned_directory(made, 0755));  // there already: fine

  const fs::path link = plant_link("state-link", made);
  auto refused = ensure_owned_directory(link);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, link.string() +
                                         " is a symbolic link, not a directory: not "
                                         "used");

  auto file = ensure_owned_directory(canary_);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, canary_.string() +
                                      " is a regular file, not a directory: not "
                                      "used");

  const fs::path theirs = dir_ / "theirs";
  fs::create_directory(theirs);
  ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNogroup), 0);
  auto foreign = ensure_owned_directory(theirs);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().message, theirs.string() +
                                         " is owned by uid 65534, not by uid 0: not "
                                         "used");

  EXPECT_FALSE(ensure_owned_directory(dir_ / "missing" / "deeper"));
}

TEST(FileTypeName, NamesEachType) {
  EXPECT_EQ(file_type_name(S_IFREG | 0644), "a regular file");
  EXPECT_EQ(file_type_name(S_IFLNK | 0777), "a symbolic link");
  EXPECT_EQ(file_type_name(S_IFDIR | 0755), "a directory");
  EXPECT_EQ(file_type_name(S_IFIFO | 0600), "a FIFO");
  EXPECT_EQ(file_type_name(S_IFSOCK | 0755), "a socket");
  EXPECT_EQ(file_type_name(S_IFCHR | 0666), "a character device");
  EXPECT_EQ(file_type_name(S_IFBLK | 0660), "a block device");
}

}  // namespace
}  // namespace vigil
