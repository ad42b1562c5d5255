// A VrrpHost in virtual time: adverts, address changes and scripts are recorded; the test feeds
// received adverts, link changes and file changes.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon/vrrp/vrrp_host.h"
#include "fakes/fake_scheduler.h"
#include "fakes/fake_script_runner.h"
#include "vrrp/packet.h"

namespace vigil::daemon::testing {

class FakeVrrpHost final : public VrrpHost {
 public:
  struct SentAdvert {
    TimePoint at;
    vrrp::OutgoingAdvert advert;
    uint8_t vrid() const { return advert.bytes.at(1); }
    uint8_t priority() const { return advert.bytes.at(2); }
  };
  enum class VipCall { kAdd, kRemove, kAnnounce };
  struct VipRecord {
    TimePoint at;
    VipCall call;
    std::string interface;
    std::vector<IpPrefix> addresses;
  };

  FakeVrrpHost() = default;

  // ---- VrrpHost ----
  Scheduler& scheduler() override { return clock; }
  event::ScriptRunner& scripts() override { return runner; }
  [[nodiscard]] bool scripts_idle() const override { return runner.unfinished() == 0; }
  std::unique_ptr<event::ScriptRunner> new_script_runner() override {
    return std::make_unique<LongRunning>(*this);
  }
  Result<std::unique_ptr<vrrp::VipManager>> open_vips() override {
    return std::unique_ptr<vrrp::VipManager>(std::make_unique<Vips>(*this));
  }
  Result<std::unique_ptr<vrrp::RoutingTable>> open_routing() override {
    return std::unique_ptr<vrrp::RoutingTable>(std::make_unique<Routing>(*this));
  }
  Result<std::unique_ptr<vrrp::VmacHost>> open_vmacs() override {
    return std::unique_ptr<vrrp::VmacHost>(std::make_unique<Vmacs>(*this));
  }
  Result<std::unique_ptr<LinkStates>> open_links(LinkChanged changed) override {
    link_changed_ = std::move(changed);
    return std::unique_ptr<LinkStates>(std::make_unique<Links>(*this));
  }
  [[nodiscard]] bool interface_exists(const std::string& interface) const override {
    return links.contains(interface);
  }
  Result<std::unique_ptr<AdvertChannel>> open_adverts(const vrrp::AdvertSocketOptions& options,
                                                      AdvertReceived received) override {
    receivers_[options.interface] = std::move(received);
    ++sockets_opened;
    return std::unique_ptr<AdvertChannel>(std::make_unique<Channel>(*this));
  }
  Result<std::unique_ptr<event::FileChangeWatcher>> watch_files(FileChanged changed) override {
    file_changed_ = std::move(changed);
    return std::unique_ptr<event::FileChangeWatcher>(std::make_unique<Files>(*this));
  }
  void on_stop_signals(std::function<void()> stop) override { stop_signal_ = std::move(stop); }
  [[nodiscard]] event::TimerLateness timer_lateness() const override { return {}; }

  // ---- what the test drives ----

  // SIGTERM as the VRRP thread sees it; false when nothing asked for it.
  bool stop_signal() {
    if (!stop_signal_) return false;
    stop_signal_();
    return true;
  }

  // An advert from `source` arriving on `interface` (IPv4 multicast, through the real codec).
  void deliver(const std::string& interface, const vrrp::Advert& advert, IpAddress source) {
    const IpAddress group = *IpAddress::parse("224.0.0.18");
    auto bytes = vrrp::encode(advert, {.source = source, .destination = group});
    auto header = vrrp::build_ipv4_header(source, group, bytes.size());
    std::vector<uint8_t> datagram(header.begin(), header.end());
    datagram.insert(datagram.end(), bytes.begin(), bytes.end());
    receivers_.at(interface)(vrrp::RawAdvertMessage{
        .source = source, .destination = group, .ttl = vrrp::kRequiredTtl, .bytes = datagram});
  }
  void set_link(const std::string& interface, bool up) {
    links[interface] = up;
    if (link_changed_) link_changed_(interface, up);
  }
  void file_changed(const std::string& path) {
    if (file_changed_) file_changed_(path);
  }

  // Adverts sent for `vrid`, in order.
  [[nodiscard]] std::vector<SentAdvert> sent_for(uint8_t vrid) const {
    std::vector<SentAdvert> out;
    for (const auto& s : sent) {
      if (s.vrid() == vrid) out.push_back(s);
    }
    return out;
  }
  // Address changes (add / remove, not announcements) touching `address`.
  [[nodiscard]] std::vector<VipCall> vip_changes(const IpPrefix& address) const {
    std::vector<VipCall> out;
    for (const auto& r : vip_log) {
      if (r.call == VipCall::kAnnounce) continue;
      for (const auto& a : r.addresses) {
        if (a == address) out.push_back(r.call);
      }
    }
    return out;
  }
  // argv of every notify script started so far.
  [[nodiscard]] std::vector<std::vector<std::string>> script_argvs() const {
    std::vector<std::vector<std::string>> out;
    for (const auto& s : runner.started())
      out.push_back(s.request.argv);
    return out;
  }

  vigil::testing::FakeScheduler clock;
  vigil::testing::FakeScriptRunner runner;
  std::map<std::string, bool> links{{"eth0", true}};
  std::vector<SentAdvert> sent;
  std::vector<VipRecord> vip_log;
  std::set<IpPrefix> present;
  std::vector<vrrp::RoutingChange> routing_log;  // every route and rule change, in order
  std::set<std::string> watched_files;
  std::vector<event::ScriptRequest> long_running;  // started through new_script_runner()
  int long_running_ended = 0;                      // runners destroyed (their scripts ended)
  int long_running_terminated = 0;                 // asked to end with SIGTERM
  int sockets_opened = 0;
  std::map<std::string, vrrp::VmacPlan> vmac_links;  // the macvlans that exist, by name
  std::vector<std::string> vmac_log;                 // "ensure NAME" / "remove NAME", in order
  std::map<std::string, int> sysctls;                // by path; unset paths read as absent

 private:
  class Channel final : public AdvertChannel {
   public:
    explicit Channel(FakeVrrpHost& host) : host_(host) {}
    Status send(const vrrp::OutgoingAdvert& advert) override {
      host_.sent.push_back({host_.clock.now(), advert});
      ++sent_;
      return {};
    }
    [[nodiscard]] Counters counters() const override { return {.sent = sent_}; }

   private:
    FakeVrrpHost& host_;
    uint64_t sent_ = 0;
  };

  class Vips final : public vrrp::VipManager {
   public:
    explicit Vips(FakeVrrpHost& host) : host_(host) {}
    Status add_addresses(const std::string& interface,
                         const std::vector<vrrp::VirtualAddress>& addresses) override {
      record(VipCall::kAdd, interface, addresses);
      for (const auto& a : addresses)
        host_.present.insert(a.prefix);
      return {};
    }
    Status remove_addresses(const std::string& interface,
                            const std::vector<vrrp::VirtualAddress>& addresses) override {
      record(VipCall::kRemove, interface, addresses);
      for (const auto& a : addresses)
        host_.present.erase(a.prefix);
      return {};
    }
    // Every frame is sent: the tally counts `count` per address, by family.
    Status announce(const std::string& interface,
                    const std::vector<vrrp::VirtualAddress>& addresses, int count,
                    const std::shared_ptr<vrrp::AnnounceTally>& tally) override {
      record(VipCall::kAnnounce, interface, addresses);
      if (tally) {
        for (const auto& a : addresses) {
          auto& frames =
              a.prefix.address.is_v4() ? tally->gratuitous_arps : tally->neighbour_adverts;
          frames += static_cast<uint64_t>(count);
        }
      }
      return {};
    }

   private:
    void record(VipCall call, const std::string& interface,
                const std::vector<vrrp::VirtualAddress>& addresses) {
      VipRecord r{.at = host_.clock.now(), .call = call, .interface = interface, .addresses = {}};
      for (const auto& a : addresses)
        r.addresses.push_back(a.prefix);
      host_.vip_log.push_back(std::move(r));
    }
    FakeVrrpHost& host_;
  };

  class Vmacs final : public vrrp::VmacHost {
   public:
    explicit Vmacs(FakeVrrpHost& host) : host_(host) {}
    Status ensure(const vrrp::VmacPlan& plan) override {
      host_.vmac_log.push_back("ensure " + plan.name);
      host_.vmac_links[plan.name] = plan;
      for (const auto& setting : vrrp::vmac_sysctls(plan))
        host_.sysctls[setting.path()] = setting.value;
      return {};
    }
    Status remove(const std::string& name) override {
      host_.vmac_log.push_back("remove " + name);
      host_.vmac_links.erase(name);
      return {};
    }
    [[nodiscard]] std::optional<int> read_sysctl(const vrrp::SysctlSetting& where) const override {
      auto it = host_.sysctls.find(where.path());
      if (it == host_.sysctls.end()) return std::nullopt;
      return it->second;
    }
    Status write_sysctl(const vrrp::SysctlSetting& setting) override {
      host_.sysctls[setting.path()] = setting.value;
      return {};
    }

   private:
    FakeVrrpHost& host_;
  };

  class Routing final : public vrrp::RoutingTable {
   public:
    explicit Routing(FakeVrrpHost& host) : host_(host) {}
    Status apply(const vrrp::RoutingChange& change) override {
      host_.routing_log.push_back(change);
      return {};
    }

   private:
    FakeVrrpHost& host_;
  };

  class Links final : public LinkStates {
   public:
    explicit Links(const FakeVrrpHost& host) : host_(host) {}
    [[nodiscard]] std::optional<bool> is_up(const std::string& interface) const override {
      auto it = host_.links.find(interface);
      if (it == host_.links.end()) return std::nullopt;
      return it->second;
    }

   private:
    const FakeVrrpHost& host_;
  };

  class Files final : public event::FileChangeWatcher {
   public:
    explicit Files(FakeVrrpHost& host) : host_(host) {}
    Status watch(const std::set<std::string>& paths) override {
      host_.watched_files = paths;
      return {};
    }

   private:
    FakeVrrpHost& host_;
  };

  class LongRunning final : public event::ScriptRunner {
   public:
    explicit LongRunning(FakeVrrpHost& host) : host_(host) {}
    ~LongRunning() override { ++host_.long_running_ended; }
    void run(event::ScriptRequest request, event::ScriptCallback) override {
      host_.long_running.push_back(std::move(request));
    }
    // The script takes the SIGTERM and exits at once.
    void terminate_running() override {
      if (!terminated_) ++host_.long_running_terminated;
      terminated_ = true;
    }
    [[nodiscard]] bool idle() const override { return terminated_; }

   private:
    FakeVrrpHost& host_;
    bool terminated_ = false;
  };

  LinkChanged link_changed_;
  FileChanged file_changed_;
  std::function<void()> stop_signal_;
  std::map<std::string, AdvertReceived> receivers_;
};

}  // namespace vigil::daemon::testing
