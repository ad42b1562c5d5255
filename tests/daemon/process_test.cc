#include "daemon/process.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/safe_file.h"

namespace vigil::daemon {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The pid file's directory as a sticky world-writable one (an operator's -p /tmp/vigild.pid).
class PidFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0U) << "the unit tests run as root (scripts/test, CI)";
    std::string pattern = (fs::temp_directory_path() / "vigil-pid-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);
    canary_ = dir_ / "canary";
    std::ofstream(canary_) << "canary\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  fs::path canary_;
};

TEST_F(PidFileTest, WritesANew0644FileWithOurPid) {
  // The directories are created, 0755 even under an empty umask.
  const fs::path path = dir_ / "sub" / "deeper" / "vigild.pid";
  const mode_t old_umask = ::umask(0);
  auto written = write_pid_file(path);
  ::umask(old_umask);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_FALSE(written->replaced_symlink);
  EXPECT_EQ(read_file(path), std::to_string(::getpid()) + "\n");
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  EXPECT_EQ(st.st_uid, 0U);
  for (const fs::path& made : {dir_ / "sub", dir_ / "sub" / "deeper"}) {
    ASSERT_EQ(::lstat(made.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755U) << made;
  }
  remove_pid_file(path);
  EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
}

// A link planted at the pid file, by nobody or by root, is replaced: the target keeps its bytes,
// and a pid in the target (pid 1 is alive) is not taken for another vigild's.
TEST_F(PidFileTest, APlantedLinkIsReplacedAndNeitherReadNorWrittenThrough) {
  std::ofstream(dir_ / "pid-one") << "1\n";
  for (const uid_t owner : {uid_t{65534}, uid_t{0}}) {
    for (const fs::path& target : {canary_, dir_ / "pid-one"}) {
      SCOPED_TRACE(target.string() + " owned by " + std::to_string(owner));
      const fs::path path = dir_ / "vigild.pid";
      fs::remove(path);
      ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
      ASSERT_EQ(::lchown(path.c_str(), owner, owner), 0);
      auto written = write_pid_file(path);
      ASSERT_TRUE(written) << written.error().message;
      EXPECT_TRUE(written->replaced_symlink);
      struct stat st {};
      ASSERT_EQ(::lstat(path.c_str(), &st), 0);
      EXPECT_TRUE(S_ISREG(st.st_mode));
      EXPECT_EQ(st.st_uid, 0U);
      EXPECT_EQ(read_file(path), std::to_string(::getpid()) + "\n");
    }
  }
  EXPECT_EQ(read_file(canary_), "canary\n");
  EXPECT_EQ(read_file(dir_ / "pid-one"), "1\n");
  // Removing the pid file removes a link, never its target.
  const fs::path link = dir_ / "link.pid";
  ASSERT_EQ(::symlink(canary_.c_str(), link.c_str()), 0);
  remove_pid_file(link);
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
  EXPECT_EQ(read_file(canary_), "canary\n");
}

TEST_F(PidFileTest, ALiveProcessInThePidFileIsRefused) {
  const fs::path path = dir_ / "vigild.pid";
  std::ofstream(path) << "1\n";  // init: always alive
  auto written = write_pid_file(path);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message,
            path.string() + ": another process (pid 1) is running with this pid file");
  EXPECT_EQ(read_file(path), "1\n");
}

TEST_F(PidFileTest, ADirectoryAtThePathIsRefused) {
  const fs::path path = dir_ / "vigild.pid";
  fs::create_directory(path);
  auto written = write_pid_file(path);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().message, "cannot write the pid file: " + path.string() +
                                         " is a directory, not a regular file: not written");
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(path)));
}

}  // namespace
}  // namespace vigil::daemon
