// What `GET /metrics` answers: the Prometheus text exposition format (version 0.0.4). Each side
// of vigild builds its metric families on its own thread (MetricsPart) and the control server
// renders them together. Conventions (docs/operations.md "Metrics"): every name starts with
// `vigil_`, values are in base units (seconds, bytes), counters end in `_total`, a state is a
// state set (one series per state, 1 for the current one), and no label is named `instance`
// (Prometheus sets that one itself): vrrp_instance, virtual_server, real_server. Pure.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time.h"

namespace vigil::api {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// basic: series per instance and virtual server only (bounded by the configuration's blocks);
// full: also per real server and per checker.
enum class MetricsDetail { kBasic, kFull };
std::string_view to_string(MetricsDetail detail);
std::optional<MetricsDetail> parse_metrics_detail(std::string_view text);

enum class MetricType { kCounter, kGauge, kHistogram };

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

struct MetricSample {
  MetricLabels labels;
  double value = 0;
};

struct HistogramSample {
  MetricLabels labels;
  // (upper bound, observations at or below it), cumulative, bounds ascending; +Inf is added.
  std::vector<std::pair<double, uint64_t>> buckets;
  uint64_t count = 0;
  double sum = 0;
};

// One family. `name` is without the `vigil_` prefix and, for a counter, without `_total`
// (the renderer adds both): "vrrp_adverts_sent" renders vigil_vrrp_adverts_sent_total.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<MetricSample> samples;        // counter, gauge
  std::vector<HistogramSample> histograms;  // histogram

  void add(MetricLabels labels, double value) { samples.push_back({std::move(labels), value}); }
  // A state set: one series per state in `states`, labelled `label`=state, 1 for `current`.
  void add_state_set(const MetricLabels& labels, std::string_view label,
                     std::span<const std::string_view> states, std::string_view current);
};

// One side's contribution. A deque: the reference family() returns stays valid while more
// families are added.
struct MetricsPart {
  std::deque<MetricFamily> families;

  MetricFamily& family(std::string name, std::string help, MetricType type);
};

// A timer lateness histogram (event::TimerLateness, microseconds) in seconds.
HistogramSample lateness_histogram(MetricLabels labels, std::span<const Duration> bounds,
                                   std::span<const uint64_t> buckets, uint64_t count,
                                   Duration total);

// A label value from a phrase: "TTL/hop limit not 255" -> "ttl_hop_limit_not_255" (lower case,
// each run of other characters one underscore).
std::string label_slug(std::string_view phrase);

// "a\"b" for a\"b: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view value);

// The exposition text. Families of the same name (from several sides) are rendered as one, with
// the first one's help and type, in the order they first appear.
std::string render_metrics(const std::vector<MetricsPart>& parts);

}  // namespace vigil::api
