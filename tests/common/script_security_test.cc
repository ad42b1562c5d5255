// keepalived's script-security rule, table by table. The verdicts in AssessTest were checked
// against `keepalived -t` 2.2.7 on the same tree of files (integration/security repeats that).
#include "common/script_security.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fakes/fake_file_inspector.h"

namespace vigil::script_security {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr Identity kRoot{0, 0};
constexpr Identity kNobodyUser{kNobody, kNogroup};

struct ElementCase {
  const char* what;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  bool last;
  ElementProblem expected;
};

TEST(JudgeElementTest, KeepalivedRule) {
  const std::vector<ElementCase> cases = {
      {"root directory 0755", S_IFDIR | 0755, 0, 0, false, ElementProblem::kNone},
      {"group-writable, group root", S_IFDIR | 0775, 0, 0, false, ElementProblem::kNone},
      {"group-writable, other group", S_IFDIR | 0775, 0, 100, false,
       ElementProblem::kWritableByOthers},
      {"world-writable directory", S_IFDIR | 0777, 0, 0, false, ElementProblem::kWritableByOthers},
      {"sticky world-writable (/tmp)", S_IFDIR | 01777, 0, 0, false, ElementProblem::kNone},
      {"sticky, owned by a user", S_IFDIR | 01777, kNobody, 0, false,
       ElementProblem::kNotOwnedByRoot},
      {"directory owned by a user", S_IFDIR | 0755, kNobody, 0, false,
       ElementProblem::kNotOwnedByRoot},
      {"script 0755", S_IFREG | 0755, 0, 0, true, ElementProblem::kNone},
      {"script 0777", S_IFREG | 0777, 0, 0, true, ElementProblem::kWritableByOthers},
      {"sticky script 01777", S_IFREG | 01777, 0, 0, true, ElementProblem::kWritableByOthers},
      {"script 0775, group root", S_IFREG | 0775, 0, 0, true, ElementProblem::kNone},
      {"script 0775, other group", S_IFREG | 0775, 0, kNogroup, true,
       ElementProblem::kWritableByOthers},
      {"script owned by a user", S_IFREG | 0700, kNobody, 0, true, ElementProblem::kNotOwnedByRoot},
      {"link owned by root", S_IFLNK | 0777, 0, 0, true, ElementProblem::kNone},
      {"link owned by a user", S_IFLNK | 0777, kNobody, 0, true, ElementProblem::kNotOwnedByRoot},
      {"link inside the path", S_IFLNK | 0777, 0, 0, false, ElementProblem::kWrongType},
      {"file inside the path", S_IFREG | 0755, 0, 0, false, ElementProblem::kWrongType},
      {"directory as the script", S_IFDIR | 0755, 0, 0, true, ElementProblem::kWrongType},
      {"FIFO as the script", S_IFIFO | 0755, 0, 0, true, ElementProblem::kWrongType},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(judge_element(FileStatus{.mode = c.mode, .uid = c.uid, .gid = c.gid}, c.last),
              c.expected)
        << c.what;
  }
}

TEST(ExecutableByTest, OwnerGroupOthersAndRoot) {
  const FileStatus user_only{.mode = S_IFREG | 0700, .uid = kNobody, .gid = kNogroup};
  EXPECT_TRUE(executable_by(user_only, kNobodyUser));
  EXPECT_TRUE(executable_by(user_only, kRoot));  // root needs any execute bit
  EXPECT_FALSE(executable_by(user_only, Identity{1000, 1000}));
  const FileStatus group_only{.mode = S_IFREG | 0010, .uid = 0, .gid = kNogroup};
  EXPECT_TRUE(executable_by(group_only, kNobodyUser));
  EXPECT_FALSE(executable_by(group_only, Identity{1000, 1000}));
  // The owner's bits decide for the owner, even when others may execute.
  const FileStatus others_only{.mode = S_IFREG | 0601, .uid = kNobody, .gid = 0};
  EXPECT_FALSE(executable_by(others_only, kNobodyUser));
  EXPECT_TRUE(executable_by(others_only, Identity{1000, 1000}));
  EXPECT_FALSE(executable_by(FileStatus{.mode = S_IFREG | 0644}, kRoot));
}

TEST(RunsPrivilegedTest, RootUserRootGroupSetuidSetgid) {
  const FileStatus plain{.mode = S_IFREG | 0755};
  EXPECT_TRUE(runs_privileged(plain, kRoot));
  EXPECT_TRUE(runs_privileged(plain, Identity{kNobody, 0}));
  EXPECT_TRUE(runs_privileged(plain, Identity{0, kNogroup}));
  EXPECT_FALSE(runs_privileged(plain, kNobodyUser));
  EXPECT_TRUE(runs_privileged(FileStatus{.mode = S_IFREG | 04755}, kNobodyUser));
  EXPECT_TRUE(runs_privileged(FileStatus{.mode = S_IFREG | 02755}, kNobodyUser));
  // Set-uid to a user, or set-gid to a non-root group, gives no root.
  EXPECT_FALSE(runs_privileged(FileStatus{.mode = S_IFREG | 04755, .uid = kNobody}, kNobodyUser));
  EXPECT_FALSE(runs_privileged(FileStatus{.mode = S_IFREG | 02755, .gid = kNogroup}, kNobodyUser));
}

// The tree of integration/security's keepalived comparison, under /srv.
testing::FakeFileInspector site() {
  testing::FakeFileInspector files;
  files.add_dir("/srv/secure");
  files.add_file("/srv/secure/ok.sh");
  files.add_file("/srv/secure/nobody.sh", 0755, kNobody, kNogroup);
  files.add_file("/srv/secure/noexec.sh", 0644);
  files.add_file("/srv/secure/grp.sh", 0775, 0, 0);
  files.add_file("/srv/secure/grpn.sh", 0775, 0, kNogroup);
  files.add_link("/srv/secure/tobad.sh", "/srv/ww/bad.sh");
  files.add_link("/srv/secure/same.sh", "ok.sh");
  files.add_link("/srv/secure/samenobody.sh", "ok.sh", kNobody);
  files.add_dir("/srv/ww", 01777);
  files.add_file("/srv/ww/bad.sh", 0777);
  files.add_file("/srv/ww/rootok.sh");
  files.add_link("/srv/ww/link-nobody.sh", "/srv/secure/ok.sh", kNobody);
  files.add_dir("/srv/open", 0777);
  files.add_file("/srv/open/x.sh");
  files.add_file("/srv/open/suid", 04755);
  files.add_dir("/srv/usr", 0755, kNobody, kNogroup);
  files.add_file("/srv/usr/u.sh");
  files.add_dir("/srv/up/down");
  files.add_link("/srv/up/down/ok.sh", "../../secure/ok.sh");
  return files;
}

struct AssessCase {
  const char* program;
  Identity who;
  Verdict enforced;    // with enable_script_security
  Verdict unenforced;  // without
  const char* runs;    // the program run; "" when unchanged
};

TEST(AssessTest, AsKeepalivedJudgesThem) {
  const auto files = site();
  const std::vector<AssessCase> cases = {
      {"/srv/secure/ok.sh", kRoot, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/secure/nobody.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      {"/srv/secure/noexec.sh", kRoot, Verdict::kNotExecutable, Verdict::kNotExecutable, ""},
      {"/srv/secure/grp.sh", kRoot, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/secure/grpn.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      {"/srv/ww/rootok.sh", kRoot, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/ww/bad.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      {"/srv/open/x.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      {"/srv/usr/u.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      // A link to an insecure file is judged, and run, as that file.
      {"/srv/secure/tobad.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, "/srv/ww/bad.sh"},
      // A link beside its target keeps the configured name; the link itself is judged too.
      {"/srv/secure/same.sh", kRoot, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/secure/samenobody.sh", kRoot, Verdict::kRefused, Verdict::kInsecure, ""},
      // A link elsewhere is replaced by its target: the link's owner no longer matters.
      {"/srv/ww/link-nobody.sh", kRoot, Verdict::kSecure, Verdict::kSecure, "/srv/secure/ok.sh"},
      {"/srv/up/down/../down/ok.sh", kRoot, Verdict::kSecure, Verdict::kSecure,
       "/srv/secure/ok.sh"},
      {"/srv/secure/missing.sh", kRoot, Verdict::kNotFound, Verdict::kNotFound, ""},
      {"/srv/secure/ok.sh/x", kRoot, Verdict::kNotFound, Verdict::kNotFound, ""},
      {"ok.sh", kRoot, Verdict::kNotFound, Verdict::kNotFound, ""},
      // Another user's script needs no protected path...
      {"/srv/ww/bad.sh", kNobodyUser, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/secure/nobody.sh", kNobodyUser, Verdict::kSecure, Verdict::kSecure, ""},
      {"/srv/secure/noexec.sh", kNobodyUser, Verdict::kNotExecutable, Verdict::kNotExecutable, ""},
      // ...unless it runs with group root, or the file is set-uid root.
      {"/srv/ww/bad.sh", Identity{kNobody, 0}, Verdict::kRefused, Verdict::kInsecure, ""},
      {"/srv/open/suid", kNobodyUser, Verdict::kRefused, Verdict::kInsecure, ""},
  };
  for (const auto& c : cases) {
    for (const bool enforce : {true, false}) {
      const Assessment a = assess(c.program, c.who, enforce, files, "/usr/bin:/bin");
      EXPECT_EQ(a.verdict, enforce ? c.enforced : c.unenforced)
          << c.program << " as uid " << c.who.uid << (enforce ? " enforced" : "") << ": "
          << a.reason;
      if (a.verdict != Verdict::kNotFound) {
        EXPECT_EQ(a.program, *c.runs ? std::string(c.runs) : std::string(c.program)) << c.program;
      }
      EXPECT_EQ(a.runs(), a.verdict == Verdict::kSecure || a.verdict == Verdict::kInsecure);
    }
  }
}

TEST(AssessTest, ReasonsNameTheElement) {
  const auto files = site();
  EXPECT_EQ(assess("/srv/open/x.sh", kRoot, true, files, "").reason,
            "/srv/open is writable by others");
  EXPECT_EQ(assess("/srv/usr/u.sh", kRoot, true, files, "").reason,
            "/srv/usr is owned by uid 65534, not root");
  EXPECT_EQ(assess("/srv/secure/grpn.sh", kRoot, true, files, "").reason,
            "/srv/secure/grpn.sh is writable by group 65534");
  EXPECT_EQ(assess("/srv/secure/samenobody.sh", kRoot, true, files, "").reason,
            "/srv/secure/samenobody.sh is owned by uid 65534, not root");
  EXPECT_EQ(assess("/srv/secure/noexec.sh", kRoot, true, files, "").reason,
            "/srv/secure/noexec.sh is not executable by uid 0 gid 0");
  EXPECT_EQ(assess("nothere", kRoot, true, files, "/srv/secure:/bin").reason,
            "no executable nothere in /srv/secure:/bin");
}

TEST(AssessTest, BareNamesAreLookedUpInTheSearchPath) {
  auto files = site();
  const Assessment found = assess("ok.sh", kRoot, true, files, "/srv/missing:/srv/secure");
  EXPECT_EQ(found.verdict, Verdict::kSecure);
  EXPECT_EQ(found.program, "/srv/secure/ok.sh");
  // Only an executable file counts; the next directory's is taken.
  files.add_file("/srv/first/ok.sh", 0644);
  EXPECT_EQ(assess("ok.sh", kRoot, true, files, "/srv/first:/srv/secure").program,
            "/srv/secure/ok.sh");
  // Found in an insecure directory: refused.
  EXPECT_EQ(assess("x.sh", kRoot, true, files, "/srv/open").verdict, Verdict::kRefused);
}

TEST(AssessTest, WrongTypeIsNeverRun) {
  auto files = site();
  files.add_dir("/srv/secure/dir.sh");
  for (const bool enforce : {true, false}) {
    // A directory is not a script: realpath succeeds, the file check does not.
    const Assessment a = assess("/srv/secure/dir.sh", kRoot, enforce, files, "");
    EXPECT_FALSE(a.runs());
  }
}

// The real file system: the Linux inspector over a temporary tree (unit tests run as root in CI;
// the modes below do not need root).
TEST(LinuxFileInspectorTest, JudgesARealTree) {
  char dir_template[] = "/tmp/vigil-script-security-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string script = dir + "/check.sh";
  FILE* f = fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("#!/bin/sh\nexit 0\n", f);
  fclose(f);
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  const std::string link = dir + "/link.sh";
  ASSERT_EQ(symlink("check.sh", link.c_str()), 0);

  const LinuxFileInspector files;
  const Identity me{geteuid(), getegid()};
  const bool owned_by_root = me.uid == 0;
  const Assessment secure = assess(link, me, true, files, "");
  EXPECT_EQ(secure.program, link);
  if (owned_by_root) {
    EXPECT_EQ(secure.verdict, Verdict::kSecure) << secure.reason;
  }

  ASSERT_EQ(chmod(script.c_str(), 0757), 0);
  const Assessment open = assess(script, kRoot, true, files, "");
  EXPECT_EQ(open.verdict, Verdict::kRefused);
  EXPECT_EQ(open.reason,
            script + (owned_by_root ? " is writable by others"
                                    : " is owned by uid " + std::to_string(me.uid) + ", not root"));
  EXPECT_EQ(assess(dir + "/none", kRoot, true, files, "").verdict, Verdict::kNotFound);

  unlink(link.c_str());
  unlink(script.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace vigil::script_security
