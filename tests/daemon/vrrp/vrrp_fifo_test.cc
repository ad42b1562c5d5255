#include "daemon/vrrp/vrrp_fifo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace vigil::daemon {
namespace {

// keepalived's lines, as its man page and sample_notify_fifo.sh read them.
TEST(NotifyFifoLine, MatchesKeepalived) {
  EXPECT_EQ(fifo_instance_line("VI_1", "MASTER", 100), "INSTANCE \"VI_1\" MASTER 100\n");
  EXPECT_EQ(fifo_instance_line("VI_1", "STOP", 90), "INSTANCE \"VI_1\" STOP 90\n");
  EXPECT_EQ(fifo_instance_line("VI_1", "MASTER_RX_LOWER_PRI", 150),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n");
  EXPECT_EQ(fifo_group_line("VG_1", "BACKUP"), "GROUP \"VG_1\" BACKUP 0\n");
}

// notify_priority_changes: MASTER_PRIORITY while MASTER, BACKUP_PRIORITY in every other state.
TEST(NotifyFifoLine, PriorityChangeNamesMasterOrBackup) {
  EXPECT_EQ(fifo_priority_change_line("VI_1", vrrp::State::kMaster, 90),
            "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n");
  for (const auto state : {vrrp::State::kBackup, vrrp::State::kFault, vrrp::State::kInitialize})
    EXPECT_EQ(fifo_priority_change_line("VI_1", state, 110),
              "INSTANCE \"VI_1\" BACKUP_PRIORITY 110\n");
}

class NotifyFifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-fifo-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string read_all_available(int fd) {
    std::string out;
    std::array<char, 4096> buffer{};
    for (int i = 0; i < 16; ++i) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) break;
      out.append(buffer.data(), static_cast<size_t>(got));
    }
    return out;
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::filesystem::path dir_;
};

TEST_F(NotifyFifoTest, CreatesTheFifoKeepsLinesUntilAReaderComesAndRemovesWhatItCreated) {
  const std::string path = dir_ / "vrrp.fifo";
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    EXPECT_TRUE(fifo->created());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    // No reader yet: the line waits in the pipe instead of being dropped.
    EXPECT_TRUE(fifo->write(fifo_instance_line("VI_1", "BACKUP", 100)));
    const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    EXPECT_TRUE(fifo->write(fifo_instance_line("VI_1", "MASTER", 100)));
    EXPECT_EQ(read_all_available(reader),
              "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n");
    ::close(reader);
    EXPECT_EQ(fifo->dropped(), 0U);
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << "created by us, removed by us";
}

TEST_F(NotifyFifoTest, LeavesAFifoItDidNotCreate) {
  const std::string path = dir_ / "existing.fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    EXPECT_FALSE(fifo->created());
  }
  EXPECT_TRUE(std::filesystem::exists(path));
}

// The reader script may run as script_user: a FIFO we made becomes its; a FIFO that was there
// keeps its owner.
TEST_F(NotifyFifoTest, GivesAFifoItCreatedToTheScriptUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  const std::string made = dir_ / "made.fifo";
  auto fifo = NotifyFifo::open(made);
  ASSERT_TRUE(fifo) << fifo.error().message;
  ASSERT_TRUE(fifo->give_to(12345, 23456));
  struct stat st {};
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345U);
  EXPECT_EQ(st.st_gid, 23456U);

  const std::string existing = dir_ / "existing.fifo";
  ASSERT_EQ(::mkfifo(existing.c_str(), 0600), 0);
  auto kept = NotifyFifo::open(existing);
  ASSERT_TRUE(kept) << kept.error().message;
  ASSERT_TRUE(kept->give_to(12345, 23456));
  ASSERT_EQ(::stat(existing.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(NotifyFifoTest, RefusesAPathThatIsNotAFifo) {
  const std::string path = dir_ / "regular";
  { std::ofstream(path) << "x"; }
  auto fifo = NotifyFifo::open(path);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message, path + " is a regular file, not a FIFO: refused");
  EXPECT_EQ(read_file(path), "x");
}

// Nothing at the path is followed: a link to a regular file, to a FIFO or to nothing, owned by
// nobody or by root, is refused, and its target is neither written nor created.
TEST_F(NotifyFifoTest, RefusesASymbolicLinkWhateverItPointsAt) {
  ASSERT_EQ(::geteuid(), 0U) << "the unit tests run as root (scripts/test, CI)";
  ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);  // as /tmp
  const std::string canary = dir_ / "canary";
  { std::ofstream(canary) << "canary\n"; }
  const std::string target_fifo = dir_ / "target.fifo";
  ASSERT_EQ(::mkfifo(target_fifo.c_str(), 0600), 0);
  const std::string missing = dir_ / "missing";
  int n = 0;
  for (const std::string& target : {canary, target_fifo, missing}) {
    for (const uid_t owner : {uid_t{65534}, uid_t{0}}) {
      SCOPED_TRACE(target + " owned by " + std::to_string(owner));
      const std::string link = dir_ / ("link" + std::to_string(n++));
      ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
      ASSERT_EQ(::lchown(link.c_str(), owner, owner), 0);
      auto fifo = NotifyFifo::open(link);
      ASSERT_FALSE(fifo);
      EXPECT_EQ(fifo.error().message, link + " is a symbolic link, not a FIFO: refused");
      struct stat st {};
      ASSERT_EQ(::lstat(link.c_str(), &st), 0);
      EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link stays as it was";
    }
  }
  EXPECT_EQ(read_file(canary), "canary\n");
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(missing)));
}

TEST_F(NotifyFifoTest, RefusesADirectoryAndASocket) {
  const std::string directory = dir_ / "dir";
  std::filesystem::create_directory(directory);
  auto fifo = NotifyFifo::open(directory);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message, directory + " is a directory, not a FIFO: refused");

  const std::string socket_path = dir_ / "sock";
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.size(), sizeof address.sun_path);
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  fifo = NotifyFifo::open(socket_path);
  ::close(sock);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().message, socket_path + " is a socket, not a FIFO: refused");
}

// At the end vigild removes the FIFO it made, and nothing else someone put at the path since.
TEST_F(NotifyFifoTest, RemovesOnlyTheFifoItMade) {
  const std::string path = dir_ / "made.fifo";
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    ASSERT_TRUE(fifo->created());
    ASSERT_EQ(::unlink(path.c_str()), 0);
    std::ofstream(path) << "someone else's\n";
  }
  EXPECT_EQ(read_file(path), "someone else's\n");
}

TEST_F(NotifyFifoTest, AFullPipeDropsAndCountsInsteadOfBlocking) {
  const std::string path = dir_ / "full.fifo";
  auto fifo = NotifyFifo::open(path);
  ASSERT_TRUE(fifo) << fifo.error().message;
  const std::string line = fifo_instance_line("VI_1", "MASTER", 100);
  size_t written = 0;
  // The pipe holds 64 KiB by default: bounded well above that.
  for (int i = 0; i < 100'000 && fifo->dropped() == 0; ++i)
    written += fifo->write(line) ? 1 : 0;
  EXPECT_EQ(fifo->dropped(), 1U);
  EXPECT_GT(written, 100U);
}

}  // namespace
}  // namespace vigil::daemon
