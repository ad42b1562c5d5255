// The lab itself: namespaces (a bridge, one per director, a client), the directors' daemons, and
// the instruments that feed the timeline (each director's vrrp_notify_fifo, an rtnetlink watcher
// of the VIPs in each director, an ICMP prober per VIP in the client). Everything it creates it
// removes in its destructor: daemons by process group, namespaces by name, its work directory.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lab/judge.h"
#include "lab/model.h"
#include "lab/probe.h"
#include "lab/servers.h"

namespace vigil::lab {

struct LabOptions {
  std::string daemon = "vigild";  // vigild or keepalived
  std::string binary;             // the daemon's path
  bool vrrp_only = true;          // -P: no IPVS on this kernel
  bool keep_work = false;         // keep the work directory (logs, configs)
  // --ipvs-journal: the daemon is the tests' vigild-recording (its own in-memory IPVS table):
  // the directors run whole on any kernel, each with --record <work>/<id>/ipvs.jsonl.
  bool ipvs_journal = false;
  double probe_interval = 0.002;  // seconds between two pings of a VIP
  // Per director: the config text to copy instead of reading the user's file (the demo's).
  std::string config_texts[2];
};

class Lab {
 public:
  Lab(const LabModel& model, LabOptions options);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // Creates the namespaces and links; refuses (LabError) when a previous lab is there.
  void build();
  // Writes each director's config (the user's, plus vrrp_notify_fifo) and starts the
  // instruments.
  void prepare();
  void start_daemon(int director);
  // SIGKILL to the daemon's process group; its instances count as DOWN from now on.
  void kill_daemon(int director);
  // SIGTERM; waits (bounded) for it to exit. Its instances count as DOWN from the signal on.
  void stop_daemon(int director);
  // SIGHUP: the daemon reloads its configuration (the same file).
  void reload_daemon(int director);
  // The completed reloads in the director's daemon log so far (is_reload_complete lines).
  [[nodiscard]] int reloads_logged(int director) const;
  // Fails (LabError) when a daemon the lab did not stop has exited: names it and its log tail.
  void check_daemons();

  // Faults.
  void plug(int director, bool connected);  // its ports at the bridge
  void set_link(int director, const std::string& interface, bool up);
  void partition(bool on);  // VRRP between the directors dropped (nftables in each director)
  // One in two of the director's adverts dropped (advert_loss_rules), or no longer: then returns
  // how many were dropped (-1 when nft did not say).
  int64_t lose_adverts(int director, bool on);
  void flush_vips(int director);  // what a reboot does to a crashed director's leftover VIPs
  // A real server the lab plays (model().virtual_servers[vs].real_servers[rs]) stops / returns.
  void set_real_server(size_t vs, size_t rs, bool up);
  // Whether the directors run their checkers (not -P).
  [[nodiscard]] bool checkers_run() const { return !options_.vrrp_only; }

  [[nodiscard]] Timeline timeline() const;
  [[nodiscard]] std::vector<double> replies(int vip) const;
  [[nodiscard]] const Names& names() const { return names_; }
  [[nodiscard]] const LabModel& model() const { return model_; }
  [[nodiscard]] std::string namespace_of(int director) const { return director_ns_[director]; }
  [[nodiscard]] const std::string& work() const { return work_; }
  [[nodiscard]] std::string log_path(int director) const;
  [[nodiscard]] std::string log_tail(int director, size_t lines) const;

 private:
  void teardown();
  void add_state(int director, int instance, State state);
  void observe();  // the observer thread: FIFOs and rtnetlink
  void ip(const std::string& ns, std::vector<std::string> args);
  void sysctl(const std::string& ns, const std::string& key, const std::string& value);

  LabModel model_;
  LabOptions options_;
  Names names_;
  std::string work_;
  std::string bridge_ns_;
  std::string client_ns_;
  std::string director_ns_[2];
  std::vector<std::string> created_ns_;
  std::string config_path_[2];
  std::string fifo_path_[2];
  int fifo_fd_[2] = {-1, -1};
  std::string fifo_partial_[2];
  std::string lvs_fifo_path_[2];
  int lvs_fifo_fd_[2] = {-1, -1};
  std::string lvs_fifo_partial_[2];
  RealServers real_servers_;
  std::vector<size_t> real_server_base_;  // per model VS: its first index in real_servers_
  std::unique_ptr<AddressWatcher> watchers_[2];
  std::vector<std::unique_ptr<EchoProber>> probers_;  // per model VIP
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  pid_t daemon_pid_[2] = {-1, -1};
  bool stopped_on_purpose_[2] = {false, false};
  int daemon_runs_[2] = {0, 0};
  mutable std::mutex mutex_;  // guards timeline_
  Timeline timeline_;
};

}  // namespace vigil::lab
