// `vigilctl doctor [-f CONF] [-i ID] [--json] [--no-probes] [--fix]`: reads the configuration,
// gathers the host's state for it, runs the active probes (probes.h) unless told not to, judges
// (doctor.h) and prints one line per finding, or the findings as JSON (schema vigil-doctor/1).
// --fix then applies the director-side sysctl fixes of the WARN and FAIL findings it printed
// (Finding::sysctl_fixes; at run time only: persisting them stays the operator's), says what each
// write did, judges again and prints the findings after. Exit codes (control/exit_codes.h): 0
// nothing fails, 1 something fails (after --fix: still fails), 4 / 5 the configuration cannot be
// read / has errors, 9 the host cannot be examined.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/result.h"
#include "doctor/doctor.h"

namespace vigil::doctor {

inline constexpr const char* kJsonSchema = "vigil-doctor/1";

struct DoctorRequest {
  std::string file;
  std::string config_id;
  bool json = false;
  bool probes = true;  // --no-probes: only the static checks (no ARP, no listening)
  bool fix = false;    // --fix (text output only)
};

// Sets a sysctl of this host, for --fix. LinuxSysctlWriter writes /proc/sys.
class SysctlWriter {
 public:
  virtual ~SysctlWriter() = default;
  virtual Status write(const std::string& name, const std::string& value) = 0;
};

class LinuxSysctlWriter final : public SysctlWriter {
 public:
  Status write(const std::string& name, const std::string& value) override;
};

// How the run went besides its findings: printed after them.
struct RunSummary {
  bool probes = false;  // the active probes ran
  Duration elapsed{0};  // gathering, probes included
};

// One line per finding: "FAIL kernel.ip_forward  ...", then a summary line (with the time taken
// and whether the probes ran, when `run` is given).
std::string render_text(const std::vector<Finding>& findings, const RunSummary* run = nullptr);
// {"schema": "vigil-doctor/1", "config": FILE, "summary": {...}, "findings": [...]} (the schema's
// fields are fixed: the time taken and whether the probes ran are in the text only).
std::string render_json(const std::string& file, const std::vector<Finding>& findings);
// 0 (nothing fails) or 1.
int exit_code(const std::vector<Finding>& findings);

// `host` and `writer` default to the Linux ones.
int run_doctor(const DoctorRequest& request, const Host* host, std::ostream& out, std::ostream& err,
               SysctlWriter* writer = nullptr);

}  // namespace vigil::doctor
