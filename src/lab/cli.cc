#include "lab/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/parser.h"
#include "lab/drills.h"
#include "lab/lab.h"
#include "lab/model.h"
#include "lab/report.h"
#include "lab/shell.h"

namespace vigil::lab {
namespace {

enum Exit : int {
  kPassed = 0,
  kDrillFailed = 1,
  kCannotModel = 2,
  kCannotStart = 3,
  kUnreadable = 4,
  kConfigErrors = 5,
  kUsage = 64,
  kInterrupted = 130,
};

constexpr const char* kUsageText =
    "usage: vigil-lab demo [OPTIONS]\n"
    "       vigil-lab run -f CONF [-f PEER_CONF] [--ids A,B] [OPTIONS]\n"
    "       vigil-lab clean\n"
    "options: --drills kill,stop,link,preempt,loss,partition,reload,rs-fail,rs-recover\n"
    "         (default: the first seven)  --repeat N (default 3)\n"
    "         --report DIR  --json  --daemon vigild|keepalived  --vigild PATH  --seed N\n"
    "         --compare (the same drills with vigild, then keepalived, side by side)\n"
    "         --rs-root DIR (what the HTTP real servers serve: DIR/path, for digests)\n"
    "         --ipvs-journal (the daemon is vigild-recording: checkers run without IPVS)\n"
    "         --keep (keep the lab's work directory: configs, daemon logs)\n"
    "         (-f is also --config)\n";

struct Options {
  std::string command;
  std::vector<std::string> files;
  std::vector<std::string> ids;
  std::vector<DrillKind> drills{kDefaultDrills.begin(), kDefaultDrills.end()};
  int repeat = 3;
  std::string report_dir;
  bool json = false;
  std::string daemon = "vigild";
  std::string vigild;
  std::optional<uint32_t> seed;
  bool keep = false;
  bool ipvs_journal = false;
  bool compare = false;       // --compare: vigild, then keepalived, side by side
  std::string rs_root;        // --rs-root DIR: the content the HTTP real servers serve
  bool daemon_given = false;  // --daemon was on the command line
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) throw UsageError("a command is required");
  o.command = argv[1];
  if (o.command != "demo" && o.command != "run" && o.command != "clean")
    throw UsageError("unknown command " + o.command);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "-f" || arg == "--config") {
      o.files.push_back(value());
    } else if (arg == "--ids") {
      o.ids = split(value(), ',');
      if (o.ids.size() != 2 || o.ids[0] == o.ids[1])
        throw UsageError("--ids takes two different config ids: --ids A,B");
    } else if (arg == "--drills") {
      o.drills.clear();
      for (const auto& name : split(value(), ',')) {
        auto kind = parse_drill(name);
        if (!kind)
          throw UsageError(
              "unknown drill " + name +
              " (kill, stop, link, preempt, loss, partition, reload, rs-fail, rs-recover)");
        o.drills.push_back(*kind);
      }
      if (o.drills.empty()) throw UsageError("--drills: name at least one drill");
    } else if (arg == "--repeat") {
      const std::string v = value();
      o.repeat = std::atoi(v.c_str());
      if (o.repeat < 1 || o.repeat > 1000) throw UsageError("--repeat: 1-1000");
    } else if (arg == "--report") {
      o.report_dir = value();
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--daemon") {
      o.daemon = value();
      o.daemon_given = true;
      if (o.daemon != "vigild" && o.daemon != "keepalived")
        throw UsageError("--daemon: vigild or keepalived");
    } else if (arg == "--vigild") {
      o.vigild = value();
    } else if (arg == "--seed") {
      o.seed = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--keep") {
      o.keep = true;
    } else if (arg == "--ipvs-journal") {
      o.ipvs_journal = true;
    } else if (arg == "--compare") {
      o.compare = true;
    } else if (arg == "--rs-root") {
      o.rs_root = value();
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
  if (o.compare && (o.daemon_given || o.ipvs_journal || o.json))
    throw UsageError(
        "--compare runs both daemons itself, without --ipvs-journal; with --report DIR each "
        "one's report.json is DIR/vigild/ and DIR/keepalived/ (not --daemon, --ipvs-journal, "
        "--json)");
  if (o.ipvs_journal && o.daemon != "vigild")
    throw UsageError("--ipvs-journal is for vigild-recording (--daemon vigild --vigild PATH)");
  if (o.command == "run" && (o.files.empty() || o.files.size() > 2))
    throw UsageError("run takes one or two -f files");
  if (o.command != "run" && !o.files.empty()) throw UsageError("-f belongs to `vigil-lab run`");
  return o;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// vigild beside vigil-lab (an install), or in the build tree (src/lab -> src/daemon), or PATH.
std::string find_daemon(const Options& o) {
  if (o.daemon == "keepalived") {
    for (const char* p : {"/usr/sbin/keepalived", "/usr/local/sbin/keepalived"}) {
      if (access(p, X_OK) == 0) return p;
    }
    return "keepalived";
  }
  if (!o.vigild.empty()) return std::filesystem::absolute(o.vigild).string();
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& candidate :
       {self / "vigild", self / "../sbin/vigild", self / "../daemon/vigild"}) {
    if (access(candidate.c_str(), X_OK) == 0)
      return std::filesystem::weakly_canonical(candidate, ec).string();
  }
  return "vigild";
}

// keepalived's and vigild's `-P` when this kernel has no IPVS; the note says so.
bool kernel_has_ipvs() {
  if (access("/proc/net/ip_vs", F_OK) == 0) return true;
  run_command({"modprobe", "ip_vs"}, 20.0);
  return access("/proc/net/ip_vs", F_OK) == 0;
}

struct Director {
  std::string id;
  std::string path;
  std::string text;  // the demo's; empty for a user's file
  std::unique_ptr<config::Parsed> parsed;
};

// One lab with o.daemon on both directors: the drills, the table, the reports in `report_dir`
// (none when empty). `records_out` (optional) gets the records. Returns the exit code.
int run_daemon(const Options& o, const LabModel& model, const Director (&directors)[2],
               const std::string& report_dir, std::vector<DrillRecord>* records_out) {
  std::ostream& progress_out = o.json ? std::cerr : std::cout;
  auto progress = [&](const std::string& line) { progress_out << line << std::endl; };
  LabOptions lab_options;
  lab_options.daemon = o.daemon;
  lab_options.binary = find_daemon(o);
  lab_options.keep_work = o.keep;
  for (int d = 0; d < 2; ++d)
    lab_options.config_texts[d] = directors[d].text;
  ReportContext context;
  context.daemon = o.daemon;
  context.daemon_path = lab_options.binary;
  context.demo = o.command == "demo";
  lab_options.ipvs_journal = o.ipvs_journal;
  if (o.ipvs_journal) {
    // vigild-recording brings its own IPVS table: the checkers run on any kernel.
    lab_options.vrrp_only = false;
    progress(
        "vigil-lab: --ipvs-journal: the directors run whole over vigild-recording's "
        "in-memory IPVS table");
  } else if (kernel_has_ipvs()) {
    lab_options.vrrp_only = false;
  } else {
    lab_options.vrrp_only = true;
    context.ipvs_note =
        "this kernel has no IPVS (no /proc/net/ip_vs, modprobe ip_vs failed): the directors run "
        "VRRP only (-P); the IPVS drills need a kernel with IPVS";
    progress("vigil-lab: " + context.ipvs_note);
  }
  context.vrrp_only = lab_options.vrrp_only;

  std::vector<DrillRecord> records;
  int exit_code = kPassed;
  {
    Lab lab(model, lab_options);
    bool started = false;
    try {
      progress(
          fmt::format("vigil-lab: building the lab: {} ({}) and {} ({}) in vlab-d1 / vlab-d2, "
                      "a client in vlab-client, {} segment(s)",
                      model.directors[0].id, model.directors[0].config_path, model.directors[1].id,
                      model.directors[1].config_path, model.segments.size()));
      lab.build();
      lab.prepare();
      progress("vigil-lab: starting " + o.daemon + " on both directors (" + lab_options.binary +
               ")");
      started = true;
      lab.start_daemon(0);
      lab.start_daemon(1);
      DrillPlan plan{o.drills, o.repeat, o.seed};
      records = run_drills(lab, plan, progress);
    } catch (const Interrupted&) {
      std::cerr << "vigil-lab: interrupted; removing the lab\n";
      return kInterrupted;  // the lab's destructor removes everything
    } catch (const LabError& e) {
      std::cerr << "vigil-lab: " << e.what() << "\n";
      if (!started) return kCannotStart;
      context.notes.push_back(e.what());
      exit_code = kDrillFailed;
    }
    if (!report_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(report_dir, ec);
      for (int d = 0; d < 2; ++d) {
        std::filesystem::copy_file(
            lab.log_path(d), report_dir + "/" + model.directors[d].id + "-" + o.daemon + ".log",
            std::filesystem::copy_options::overwrite_existing, ec);
      }
    }
    if (interrupt_flag().load()) return kInterrupted;
  }
  const Names report_names{{model.directors[0].id, model.directors[1].id},
                           [&] {
                             std::vector<std::string> n;
                             for (const auto& i : model.directors[0].instances)
                               n.push_back(i.name);
                             return n;
                           }(),
                           model.vips};
  const std::string json = report_json(model, report_names, context, records);
  if (!report_dir.empty()) {
    std::ofstream(report_dir + "/report.json") << json;
    std::ofstream(report_dir + "/junit.xml") << junit_xml(context, records);
    std::ofstream(report_dir + "/index.html") << report_html(model, report_names, context, records);
    progress("vigil-lab: report written to " + report_dir +
             "/index.html, report.json and junit.xml");
  }
  progress_out << "\n" << format_table(records);
  if (o.json) std::cout << json;
  if (records_out) *records_out = records;
  if (exit_code == kPassed && !all_passed(records)) exit_code = kDrillFailed;
  progress(exit_code == kPassed ? "vigil-lab: every drill passed" : "vigil-lab: a drill failed");
  return exit_code;
}

int run_lab(const Options& o) {
  std::ostream& progress_out = o.json ? std::cerr : std::cout;
  auto progress = [&](const std::string& line) { progress_out << line << std::endl; };

  // Which two directors, from which files, with which config ids.
  Director directors[2];
  if (o.command == "demo") {
    for (int d = 0; d < 2; ++d) {
      directors[d].id = d == 0 ? "d1" : "d2";
      directors[d].path = "demo.conf";
      directors[d].text = demo_config();
    }
  } else {
    const std::string& first = o.files[0];
    const std::string& second = o.files.size() > 1 ? o.files[1] : o.files[0];
    for (const auto& path : o.files) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec) || access(path.c_str(), R_OK) != 0) {
        std::cerr << path << ": cannot read configuration file: "
                  << (std::filesystem::exists(path, ec) ? "not a readable regular file"
                                                        : "no such file")
                  << "\n";
        return kUnreadable;
      }
    }
    std::vector<std::string> ids = o.ids;
    if (ids.empty()) {
      std::vector<std::string> found = config_ids_in(read_text(first));
      if (o.files.size() > 1) {
        for (const auto& id : config_ids_in(read_text(second))) {
          if (std::find(found.begin(), found.end(), id) == found.end()) found.push_back(id);
        }
      }
      if (found.size() == 2) {
        ids = found;
      } else if (found.empty()) {
        ids = {"d1", "d2"};
      } else {
        std::string list;
        for (const auto& id : found)
          list += (list.empty() ? "" : ", ") + id;
        std::cerr << "vigil-lab: " << first << "'s @ lines name " << found.size() << " config ids ("
                  << list << "): say which two directors the lab builds with --ids A,B\n";
        return kCannotModel;
      }
    }
    directors[0].id = ids[0];
    directors[1].id = ids[1];
    directors[0].path = first;
    directors[1].path = second;
  }

  // vigil's reader: its file:line:col errors and vigild's exit codes.
  bool errors = false;
  for (auto& d : directors) {
    config::ParseOptions options;
    options.reader.config_id = d.id;
    d.parsed = d.text.empty() ? config::parse_file(d.path, options)
                              : config::parse_text(d.path, d.text, options);
    std::cerr << d.parsed->diagnostics.format(d.parsed->files);
    if (!d.parsed->ok()) {
      std::cerr << d.path << " (config id " << d.id << "): " << d.parsed->diagnostics.error_count()
                << " error(s): configuration rejected\n";
      errors = true;
    }
  }
  if (errors) return kConfigErrors;

  ContentReader content;
  if (!o.rs_root.empty()) {
    content = [root = o.rs_root](const std::string& path) -> std::optional<std::string> {
      // A url path under the root: absolute, no "..", a regular file.
      if (path.empty() || path.front() != '/' || path.find("/../") != std::string::npos ||
          path.ends_with("/.."))
        return std::nullopt;
      std::error_code ec;
      const std::string file = root + path;
      if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
      return read_text(file);
    };
  }
  const ModelResult built =
      build_model({directors[0].id, directors[0].path, &directors[0].parsed->config},
                  {directors[1].id, directors[1].path, &directors[1].parsed->config}, content);
  if (const auto* why = std::get_if<std::string>(&built)) {
    std::cerr << "vigil-lab: " << *why << "\n";
    return kCannotModel;
  }
  const LabModel& model = std::get<LabModel>(built);

  if (geteuid() != 0) {
    std::cerr << "vigil-lab: needs root (it creates network namespaces)\n";
    return kCannotStart;
  }
  if (!o.compare) return run_daemon(o, model, directors, o.report_dir, nullptr);
  // --compare: the same drills with each daemon in turn, each in a lab of its own.
  std::vector<DrillRecord> by_daemon[2];
  int exit_code = kPassed;
  const char* daemons[2] = {"vigild", "keepalived"};
  for (int k = 0; k < 2; ++k) {
    Options one = o;
    one.daemon = daemons[k];
    progress(fmt::format("vigil-lab: --compare: {} ({} of 2)", one.daemon, k + 1));
    const int code =
        run_daemon(one, model, directors,
                   o.report_dir.empty() ? "" : o.report_dir + "/" + one.daemon, &by_daemon[k]);
    if (code == kInterrupted || code == kCannotStart) return code;
    exit_code = std::max(exit_code, code);
  }
  const std::string table =
      format_compare_table(daemons[0], by_daemon[0], daemons[1], by_daemon[1]);
  if (!o.report_dir.empty()) {
    std::ofstream(o.report_dir + "/compare.txt") << table;
    std::ofstream(o.report_dir + "/index.html")
        << compare_html(daemons[0], by_daemon[0], daemons[1], by_daemon[1]);
    progress("vigil-lab: side by side in " + o.report_dir + "/index.html and compare.txt");
  }
  progress_out << "\n" << table;
  progress(exit_code == kPassed ? "vigil-lab: every drill passed with both daemons"
                                : "vigil-lab: a drill failed (see the table)");
  return exit_code;
}

}  // namespace

const char* demo_config() {
  return R"(# vigil-lab's demo: two directors (config ids d1 and d2) share one VIP over VRRPv3 with
# 0.1 s adverts; d1 has the higher priority. Behind the VIP, an IPVS service with three HTTP real
# servers, each checked with HTTP_GET.
global_defs {
  router_id vigil-lab-demo
}

vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
@d1  priority 150
@d2  priority 100
  advert_int 0.1
  version 3
  # After a split brain, the director that steps down sends one more advert, so that the one
  # that stays MASTER hears it and sends gratuitous ARPs: the client's neighbour entry moves
  # back at once instead of pointing at the director without the VIP until it expires.
  higher_prio_send_advert
  virtual_ipaddress {
    192.0.2.200/24 dev eth0
  }
}

virtual_server 192.0.2.200 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 1
    }
  }
  real_server 198.51.100.12 80 {
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 1
    }
  }
  real_server 198.51.100.13 80 {
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 1
    }
  }
}
)";
}

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "vigil-lab: " << e.what() << "\n" << kUsageText;
    return kUsage;
  }
  install_interrupt_handlers();
  if (o.command == "clean") {
    if (geteuid() != 0) {
      std::cerr << "vigil-lab: needs root\n";
      return kCannotStart;
    }
    const auto done = clean_leftovers();
    for (const auto& line : done)
      std::cout << line << "\n";
    if (done.empty()) std::cout << "vigil-lab: no lab to remove\n";
    return kPassed;
  }
  try {
    return run_lab(o);
  } catch (const Interrupted&) {
    std::cerr << "vigil-lab: interrupted\n";
    return kInterrupted;
  } catch (const LabError& e) {
    std::cerr << "vigil-lab: " << e.what() << "\n";
    return kCannotStart;
  }
}

}  // namespace vigil::lab
