// What the lab builds from a configuration: two directors, their VRRP instances, and one network
// segment (a bridge) per interface name the instances use, with the addresses each node gets.
// Pure: build_model() decides from parsed configs; the shell (lab.h) creates what it describes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "config/model.h"

namespace vigil::lab {

struct LabInstance {
  std::string name;
  uint8_t virtual_router_id = 0;
  std::string interface;  // the VRRP interface
  uint8_t priority = 100;
  double advert_int = 1.0;  // seconds
  uint8_t version = 2;
  bool nopreempt = false;
  double preempt_delay = 0;  // seconds
  bool initial_master = false;
  uint32_t down_timer_adverts = 3;
  std::vector<std::string> vips;  // text form, no prefix length
  std::optional<IpAddress> unicast_src;
  std::vector<IpAddress> unicast_peers;
};

struct LabDirector {
  std::string id;                      // the config id (@ID lines, vigild -i)
  std::string config_path;             // the user's file
  std::vector<LabInstance> instances;  // in the order of the first director's instances
};

// One interface name: a bridge in the lab, a veth of that name in each director, one port of
// the client. Each node gets an address in each family the segment carries.
struct LabSegment {
  std::string interface;
  std::vector<IpPrefix> director_addresses[2];
  std::vector<IpPrefix> client_addresses;
  std::vector<std::string> vips;  // routed on-link from the client
};

// A real server the lab plays for the rs-fail / rs-recover drills: a TCP listener at its
// address and port (the service it runs) that speaks what its checker expects: nothing
// (TCP_CHECK), HTTP with a status the checker accepts (HTTP_GET; over TLS for SSL_GET), an SMTP
// dialogue (SMTP_CHECK: the 220 banner, 250 to HELO, 221 to QUIT), or, on UDP, DNS (DNS_CHECK:
// NOERROR, no answer) or the reply a UDP_CHECK expects.
struct LabRealServer {
  std::string address;         // IPv4, text
  uint16_t port = 0;           // where the lab's server listens: the real server's port
  std::string key;             // as lvs_notify_fifo names it: "[198.51.100.11]:tcp:80"
  std::string checker;         // "TCP_CHECK" / "HTTP_GET" / "SMTP_CHECK"
  uint16_t check_port = 0;     // where its checker connects (connect_port, else port)
  uint16_t http_status = 200;  // HTTP_GET: the status the lab answers with
  // HTTP_GET / SSL_GET urls with a digest: the body served at each path (from --rs-root), whose
  // MD5 is the configured digest. Other paths get an empty body.
  std::map<std::string, std::string> bodies;
  bool udp = false;       // DNS_CHECK / UDP_CHECK: a UDP socket answering each datagram
  std::string udp_reply;  // UDP_CHECK: what the lab answers (udp_check_reply)
  bool tls = false;       // SSL_GET: HTTP over TLS (a self-signed certificate)
  bool starts_up = true;  // false with alpha: down until its first check succeeds
};

// A virtual server whose real servers the lab can play; `why_not` says why it cannot when empty.
struct LabVirtualServer {
  std::string key;  // "[192.0.2.200]:tcp:80"
  std::vector<LabRealServer> real_servers;
  // The longest time a checker of it takes from a change to its verdict: warmup + (retry + 1)
  // connect timeouts + retry delays + one delay_loop. Seconds; bounds the lab's waits.
  double check_cycle = 0;
};

struct LabModel {
  LabDirector directors[2];
  std::vector<LabSegment> segments;
  std::vector<std::string> vips;  // every VIP once, in config order
  // The longest advert interval of any instance: steady-state and timeout bounds scale with it.
  double advert_int = 1.0;
  // The first director's virtual servers the lab can play (rs-fail / rs-recover), and for the
  // others one sentence each on why not.
  std::vector<LabVirtualServer> virtual_servers;
  std::vector<std::string> unplayable;
};

struct DirectorInput {
  std::string id;
  std::string path;
  const config::Config* config = nullptr;
};

// The content the lab's HTTP servers serve at a url path (--rs-root DIR: DIR/path), or nothing
// when there is none. Empty function: no content given.
using ContentReader = std::function<std::optional<std::string>(const std::string& path)>;

// A model, or the one sentence saying why the lab cannot model the configuration (exit 2).
using ModelResult = std::variant<LabModel, std::string>;
ModelResult build_model(const DirectorInput& first, const DirectorInput& second,
                        const ContentReader& content = {});

// The virtual servers of `config` the lab can play: IPv4 address services over TCP whose every
// real server is IPv4 and has exactly one TCP_CHECK, HTTP_GET or SSL_GET (no regex; a digest only
// with `content` whose MD5 matches; a status every url accepts; SSL_GET without verify_server or
// ALPN) or SMTP_CHECK (at most one host, at the real server's address), and over UDP whose every
// real server has exactly one DNS_CHECK or UDP_CHECK. `unplayable` gets one sentence per other
// virtual server. Pure (`content` is the caller's).
std::vector<LabVirtualServer> playable_virtual_servers(const config::Config& config,
                                                       std::vector<std::string>& unplayable,
                                                       const ContentReader& content = {});

// The datagram the lab's server answers a UDP_CHECK with: the configured reply (X nibbles 0),
// padded with zeros to min_reply_length, or a fixed text when none is configured; nothing when
// the reply is longer than max_reply_length. Pure.
std::optional<std::string> udp_check_reply(const config::UdpCheck& check);

// The HTTP status the lab's server answers an HTTP_GET with: 200 when every url accepts it (each
// url's status_code ranges, default 200-299), else the lowest code every url accepts; nothing
// when there is none. Pure.
std::optional<uint16_t> status_every_url_accepts(const config::HttpCheck& http);

// The config ids that a file's @ID / @^ID lines name, in order of first use (textual scan of the
// file itself; the reader applies them). Pure.
std::vector<std::string> config_ids_in(std::string_view text);

// The longest time an instance takes to declare its master gone: down_timer_adverts adverts
// plus the skew (RFC 5798 6.1). Pure.
double master_down_interval(const LabInstance& instance);

// The nftables table (inet vigil_lab_loss) that drops one in two of `director`'s adverts,
// counted, with one rule per instance (its interface, family and virtual_router_id) so that each
// instance loses every other advert and never two in a row. Pure.
std::string advert_loss_rules(const LabModel& model, int director);

// The director meant to hold an instance while both run: the one whose instance says
// `state MASTER` when the other's says `state BACKUP`, otherwise the one with the higher
// priority; nothing when both say the same state with the same priority. `why` says which.
struct Intent {
  int director = 0;
  std::string why;  // e.g. "state MASTER; d2 is state BACKUP"
};
std::optional<Intent> intended_master(const LabModel& model, size_t instance);

// The preempt drill's rule for `returning` coming back while its peer holds the instance: it
// takes the instance back when VRRP lets it (a higher priority, no nopreempt) and it is not
// against the intent; a director that is not the intended master must never take the instance
// from the one that is. `conflict`: VRRP would let it, the intent forbids it (a backup with the
// higher priority and no nopreempt). `why` is the sentence for the progress line and failures.
struct ReturnRule {
  bool takeover = false;
  bool conflict = false;
  std::string why;
};
ReturnRule return_rule(const LabModel& model, size_t instance, int returning);

}  // namespace vigil::lab
