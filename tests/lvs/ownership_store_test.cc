#include "lvs/ownership_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::lvs {
namespace {

using datapath::ServiceKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

constexpr uint64_t kNamespace = 4026531992ULL;  // above 2^31: needs the 64-bit setting

const datapath::Ownership kOwned{{
    ServiceKey::tcp(ip("192.0.2.80"), 80),
    ServiceKey::udp(ip("2001:db8::53"), 53),
    ServiceKey::sctp(ip("192.0.2.9"), 9),
    ServiceKey::firewall_mark(17, AddressFamily::kIpv4),
    ServiceKey::firewall_mark(4294967295U, AddressFamily::kIpv6),
}};

TEST(OwnershipFormat, RoundTrip) {
  const auto text = format_ownership(kOwned, kNamespace);
  auto parsed = parse_ownership(text, "state", kNamespace);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  EXPECT_EQ(parsed->services, kOwned.services);
  auto empty = parse_ownership(format_ownership({}, kNamespace), "state", kNamespace);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->services.empty());
}

TEST(OwnershipFormat, ReadableByPeople) {
  const auto text = format_ownership(kOwned, kNamespace);
  EXPECT_NE(text.find("protocol = \"TCP\""), std::string::npos) << text;
  EXPECT_NE(text.find("address = \"192.0.2.80\""), std::string::npos) << text;
  EXPECT_NE(text.find("family = \"inet6\""), std::string::npos) << text;
}

TEST(OwnershipFormat, ErrorsNameTheFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"version = 1;\nnetwork_namespace = 1L;\nservices = ( { protocol = \"TCP\"; \n",
       "state:4: syntax error"},
      {"version = 1;\nnetwork_namespace = 1L;\nservices = (\n"
       "  { protocol = \"TCP\"; address = \"192.0.2.1\"; port = 80; },\n"
       "  { protocol = \"ICMP\"; address = \"192.0.2.1\"; port = 80; }\n);\n",
       "state:5: unknown protocol 'ICMP'"},
      {"version = 1;\nnetwork_namespace = 1L;\nservices = (\n"
       "  { protocol = \"TCP\"; address = \"not-an-address\"; port = 80; }\n);\n",
       "state:4: bad address 'not-an-address'"},
      {"version = 1;\nnetwork_namespace = 1L;\nservices = ( { port = 80; } );\n",
       "state:3: a service needs protocol, address and port (or fwmark)"},
      {"version = 1;\nnetwork_namespace = 1L;\nservices = ( { fwmark = 7; } );\n",
       "state:3: a fwmark service needs family \"inet\" or \"inet6\""},
      {"version = 2;\nnetwork_namespace = 1L;\nservices = ();\n",
       "state: not a version 1 state file"},
      {"version = 1;\nnetwork_namespace = 1L;\n", "state: no services list"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_ownership(c.text, "state", 1);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().message, c.error) << c.text;
  }
}

TEST(OwnershipFormat, AStateFromAnotherNetworkNamespaceIsRefused) {
  auto parsed = parse_ownership(format_ownership(kOwned, 42), "state", 43);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("another network namespace"), std::string::npos);
  // Unknown on either side: not checked.
  EXPECT_TRUE(parse_ownership(format_ownership(kOwned, 42), "state", 0).ok());
}

struct OwnershipFileTest : ::testing::Test {
  std::filesystem::path dir;
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "vigil-owned-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  size_t entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir / "run"))
      ++n;
    return n;
  }
};

TEST_F(OwnershipFileTest, NoFileYetIsAnEmptyOwnership) {
  FileOwnershipStore store((dir / "run" / "owned.conf").string(), kNamespace);
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(loaded->services.empty());
}

TEST_F(OwnershipFileTest, SaveCreatesTheDirectoryAndLoadReadsItBack) {
  const auto path = dir / "run" / "owned.conf";
  FileOwnershipStore store(path.string(), kNamespace);
  ASSERT_TRUE(store.save(kOwned).ok());
  auto loaded = FileOwnershipStore(path.string(), kNamespace).load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->services, kOwned.services);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  ASSERT_EQ(stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755U);
}

TEST_F(OwnershipFileTest, SaveReplacesTheFileAtomically) {
  const auto path = dir / "run" / "owned.conf";
  FileOwnershipStore store(path.string(), kNamespace);
  ASSERT_TRUE(store.save(kOwned).ok());
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  // A reader holding the old file keeps reading the old state: the new one is a new inode
  // renamed over it, never the old file truncated and rewritten.
  std::ifstream reader(path);
  ASSERT_TRUE(store.save(datapath::Ownership{{ServiceKey::tcp(ip("192.0.2.1"), 1)}}).ok());
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::stringstream old_text;
  old_text << reader.rdbuf();
  EXPECT_NE(old_text.str().find("192.0.2.80"), std::string::npos);
  EXPECT_EQ(entries(), 1U);  // no temporary file left
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->services.size(), 1U);
}

TEST_F(OwnershipFileTest, AFailedSaveLeavesNoTemporaryFile) {
  const auto path = dir / "run" / "owned.conf";
  std::filesystem::create_directories(path);  // a directory where the file should be
  FileOwnershipStore store(path.string(), kNamespace);
  auto status = store.save(kOwned);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            path.string() + " is a directory, not a regular file: not written");
  EXPECT_EQ(entries(), 1U);  // only the directory in the way
}

TEST_F(OwnershipFileTest, ACorruptFileIsAnErrorNamingFileAndLine) {
  const auto path = dir / "run" / "owned.conf";
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "version = 1;\nnetwork_namespace = 1L;\nservices = ( {{ ;\n";
  auto loaded = FileOwnershipStore(path.string(), 1).load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message.rfind(path.string() + ":3: ", 0), 0U) << loaded.error().message;
}

// A link planted at the state file (by nobody, or by root where fs.protected_symlinks=1 would
// stop the other) is neither read through nor written through.
TEST_F(OwnershipFileTest, APlantedLinkIsNotReadThroughAndIsReplacedOnSave) {
  ASSERT_EQ(geteuid(), 0U) << "the unit tests run as root (scripts/test, CI)";
  const auto run = dir / "run";
  std::filesystem::create_directories(run);
  ASSERT_EQ(chmod(run.c_str(), 01777), 0);  // as a sticky world-writable directory
  const auto canary = dir / "canary";
  const std::string canary_text = format_ownership(kOwned, kNamespace);
  std::ofstream(canary) << canary_text;
  for (const uid_t owner : {uid_t{65534}, uid_t{0}}) {
    SCOPED_TRACE(owner);
    const auto path = run / ("owned-" + std::to_string(owner) + ".conf");
    ASSERT_EQ(symlink(canary.c_str(), path.c_str()), 0);
    ASSERT_EQ(lchown(path.c_str(), owner, owner), 0);
    FileOwnershipStore store(path.string(), kNamespace);
    auto loaded = store.load();
    ASSERT_FALSE(loaded.ok()) << "a planted state would make vigild delete what it lists";
    EXPECT_EQ(loaded.error().message, path.string() + " is a symbolic link: not read");
    ASSERT_TRUE(store.save(datapath::Ownership{{ServiceKey::tcp(ip("192.0.2.1"), 1)}}).ok());
    std::stringstream text;
    text << std::ifstream(canary).rdbuf();
    EXPECT_EQ(text.str(), canary_text);
    struct stat st {};
    ASSERT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600U);
    EXPECT_EQ(st.st_uid, 0U);
    auto reloaded = store.load();
    ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
    EXPECT_EQ(reloaded->services.size(), 1U);
  }
}

// The state directory (/run/vigil by default) is used only when it is a directory root owns.
TEST_F(OwnershipFileTest, AStateDirectoryThatIsALinkOrNotRootsIsRefused) {
  ASSERT_EQ(geteuid(), 0U) << "the unit tests run as root (scripts/test, CI)";
  const auto elsewhere = dir / "elsewhere";
  std::filesystem::create_directories(elsewhere);
  const auto linked = dir / "linked";
  ASSERT_EQ(symlink(elsewhere.c_str(), linked.c_str()), 0);
  auto status = FileOwnershipStore((linked / "owned.conf").string(), kNamespace).save(kOwned);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            linked.string() + " is a symbolic link, not a directory: not used");
  EXPECT_TRUE(std::filesystem::is_empty(elsewhere));

  const auto theirs = dir / "theirs";
  std::filesystem::create_directories(theirs);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  status = FileOwnershipStore((theirs / "owned.conf").string(), kNamespace).save(kOwned);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            theirs.string() + " is owned by uid 65534, not by uid 0: not used");
  EXPECT_TRUE(std::filesystem::is_empty(theirs));
}

}  // namespace
}  // namespace vigil::lvs
