#include "api/metrics.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <map>

namespace vigil::api {
namespace {

[[maybe_unused]] bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// HELP text escapes backslash and line feed; a label value also the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void put_labels(std::string& out, const MetricLabels& labels,
                const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return;
  out += '{';
  bool first = true;
  auto put = [&](const std::string& name, const std::string& value) {
    // Prometheus sets `instance` to the scraped target: a label of ours would be renamed.
    assert(valid_name(name) && name != "instance" && name.rfind("__", 0) != 0);
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  };
  for (const auto& [name, value] : labels)
    put(name, value);
  if (extra != nullptr) put(extra->first, extra->second);
  out += '}';
}

void put_sample(std::string& out, const std::string& name, const MetricLabels& labels, double value,
                const std::pair<std::string, std::string>* extra = nullptr) {
  out += name;
  put_labels(out, labels, extra);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string_view to_string(MetricsDetail detail) {
  return detail == MetricsDetail::kFull ? "full" : "basic";
}

std::optional<MetricsDetail> parse_metrics_detail(std::string_view text) {
  if (text == "basic") return MetricsDetail::kBasic;
  if (text == "full") return MetricsDetail::kFull;
  return std::nullopt;
}

void MetricFamily::add_state_set(const MetricLabels& labels, std::string_view label,
                                 std::span<const std::string_view> states,
                                 std::string_view current) {
  for (const std::string_view state : states) {
    MetricLabels with = labels;
    with.emplace_back(std::string(label), std::string(state));
    add(std::move(with), state == current ? 1 : 0);
  }
}

MetricFamily& MetricsPart::family(std::string name, std::string help, MetricType type) {
  families.push_back(MetricFamily{.name = std::move(name), .help = std::move(help), .type = type});
  return families.back();
}

HistogramSample lateness_histogram(MetricLabels labels, std::span<const Duration> bounds,
                                   std::span<const uint64_t> buckets, uint64_t count,
                                   Duration total) {
  HistogramSample h{.labels = std::move(labels),
                    .count = count,
                    .sum = std::chrono::duration<double>(total).count()};
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size() && i < buckets.size(); ++i) {
    cumulative += buckets[i];
    h.buckets.emplace_back(std::chrono::duration<double>(bounds[i]).count(), cumulative);
  }
  return h;
}

std::string label_slug(std::string_view phrase) {
  std::string out;
  bool gap = false;
  for (const char c : phrase) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      if (gap && !out.empty()) out += '_';
      gap = false;
      out += static_cast<char>(c - 'A' + 'a');
    } else if (keep) {
      if (gap && !out.empty()) out += '_';
      gap = false;
      out += c;
    } else {
      gap = true;
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) {
  return escape(value, /*quote=*/true);
}

std::string render_metrics(const std::vector<MetricsPart>& parts) {
  // Families by name, in the order they first appear; later ones add their samples.
  std::vector<MetricFamily> merged;
  std::map<std::string, size_t, std::less<>> index;
  for (const auto& part : parts) {
    for (const auto& family : part.families) {
      auto [it, fresh] = index.try_emplace(family.name, merged.size());
      if (fresh) {
        merged.push_back(family);
        continue;
      }
      MetricFamily& into = merged[it->second];
      assert(into.type == family.type);
      into.samples.insert(into.samples.end(), family.samples.begin(), family.samples.end());
      into.histograms.insert(into.histograms.end(), family.histograms.begin(),
                             family.histograms.end());
    }
  }
  std::string out;
  for (const auto& family : merged) {
    const std::string name = "vigil_" + family.name;
    assert(valid_name(name));
    // A counter's family is named with its `_total` (as promtool's linter wants).
    const std::string header_name = family.type == MetricType::kCounter ? name + "_total" : name;
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", header_name,
                   escape(family.help, /*quote=*/false), header_name, type_name(family.type));
    if (family.type == MetricType::kHistogram) {
      for (const auto& h : family.histograms) {
        for (const auto& [bound, below] : h.buckets) {
          const std::pair<std::string, std::string> le{"le", format_value(bound)};
          put_sample(out, name + "_bucket", h.labels, static_cast<double>(below), &le);
        }
        const std::pair<std::string, std::string> inf{"le", "+Inf"};
        put_sample(out, name + "_bucket", h.labels, static_cast<double>(h.count), &inf);
        put_sample(out, name + "_sum", h.labels, h.sum);
        put_sample(out, name + "_count", h.labels, static_cast<double>(h.count));
      }
      continue;
    }
    for (const auto& s : family.samples)
      put_sample(out, header_name, s.labels, s.value);
  }
  return out;
}

}  // namespace vigil::api
