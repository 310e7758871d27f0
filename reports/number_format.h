// How the reports (and the run summary) write numbers: fixed decimals for people, "%.6g" for
// JSON, and one mark for "no value" (NaN, infinity, or an absent value such as the standard error
// of a single sample): "-" in text, null in JSON.
// Thread safety: pure functions.
#ifndef SIGMA_REPORTS_NUMBER_FORMAT_H_
#define SIGMA_REPORTS_NUMBER_FORMAT_H_

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>

namespace sigma::reports {

// `v` with `digits` decimals; "-" where it is not finite.
inline std::string FormatFixed(double v, int digits = 4) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}
inline std::string FormatFixed(const std::optional<double>& v, int digits = 4) {
  return v ? FormatFixed(*v, digits) : "-";
}

// A JSON number with 6 significant digits; null where there is none.
inline std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}
inline std::string JsonNumber(const std::optional<double>& v) {
  return v ? JsonNumber(*v) : "null";
}

// Appends item i of a JSON list being built to `json`, with a comma before all but the first.
inline void AppendJsonItem(std::string* json, size_t i, const std::string& item) {
  if (i) json->push_back(',');
  json->append(item);
}

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_NUMBER_FORMAT_H_
