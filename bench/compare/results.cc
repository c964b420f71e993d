#include "bench/compare/results.h"

#include <algorithm>
#include <cmath>

namespace compare {

void Results::add(const std::string& cellId, const std::string& server, Sample sample) {
  samples_[{cellId, server}].push_back(std::move(sample));
}

const std::vector<Sample>& Results::samples(const std::string& cellId,
                                            const std::string& server) const {
  static const std::vector<Sample> kNone;
  const auto found = samples_.find({cellId, server});
  return found == samples_.end() ? kNone : found->second;
}

std::vector<double> Results::values(const std::string& cellId, const std::string& server,
                                    Metric metric) const {
  std::vector<double> values;
  for (const Sample& sample : samples(cellId, server)) {
    if (!sample.ok) continue;
    if (const auto value = metricValue(metric, sample.fields)) values.push_back(*value);
  }
  return values;
}

std::optional<double> Results::spread(const std::string& cellId, const std::string& server,
                                      Metric metric) const {
  const std::vector<double> values = this->values(cellId, server, metric);
  const std::optional<double> middle = median(cellId, server, metric);
  if (values.size() < 2 || !middle || *middle == 0) return std::nullopt;
  double farthest = 0;
  for (const double value : values) farthest = std::max(farthest, std::fabs(value - *middle));
  return farthest / std::fabs(*middle);
}

std::optional<double> Results::median(const std::string& cellId, const std::string& server,
                                      Metric metric) const {
  std::vector<double> values = this->values(cellId, server, metric);
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::optional<double> advantage(Metric metric, std::optional<double> ours,
                                std::optional<double> peer) {
  if (!ours || !peer || *ours <= 0 || *peer <= 0) return std::nullopt;
  return describe(metric).higherIsBetter ? *ours / *peer : *peer / *ours;
}

}  // namespace compare
