#include "tasks/types.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "engine/base/json.h"

namespace sigma::tasks {
namespace {

constexpr RequestType kAllTypes[] = {RequestType::kGenerateUntil, RequestType::kLoglikelihood,
                                     RequestType::kLoglikelihoodRolling,
                                     RequestType::kMultipleChoice};

// Shortest text that reads back to the same double; non-finite values become null.
void AppendNumber(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buffer[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  out->append(buffer);
}

void AppendNumberMap(const std::map<std::string, double>& values, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : values) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(name, out);
    out->push_back(':');
    AppendNumber(value, out);
  }
  out->push_back('}');
}

Status ReadNumberMap(const rapidjson::Value& object, std::string_view source,
                     std::map<std::string, double>* out) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    if (it->value.IsNull()) {
      (*out)[name] = std::numeric_limits<double>::quiet_NaN();
    } else if (it->value.IsNumber()) {
      (*out)[name] = it->value.GetDouble();
    } else {
      return InvalidArgumentError(source, ": metric '", name, "': expected a number, got ",
                                  JsonTypeName(it->value));
    }
  }
  return Status::Ok();
}

// ,"key":["a","b"] (no comma when *empty, which it then clears).
void AppendStringArray(const char* key, const std::vector<std::string>& values, bool* empty,
                       std::string* out) {
  out->append(*empty ? "\"" : ",\"").append(key).append("\":[");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(values[i], out);
  }
  out->push_back(']');
  *empty = false;
}

// The strings of the array `value` (member `name` of `source`'s metrics JSON).
Status ReadStringArray(const rapidjson::Value& value, std::string_view name,
                       std::string_view source, std::vector<std::string>* out) {
  if (!value.IsArray()) return InvalidArgumentError(source, ": ", name, " is not an array");
  for (const rapidjson::Value& v : value.GetArray()) {
    if (!v.IsString()) return InvalidArgumentError(source, ": ", name, " holds a non-string");
    out->emplace_back(v.GetString(), v.GetStringLength());
  }
  return Status::Ok();
}

}  // namespace

std::string_view RequestTypeName(RequestType type) {
  switch (type) {
    case RequestType::kGenerateUntil: return "generate_until";
    case RequestType::kLoglikelihood: return "loglikelihood";
    case RequestType::kLoglikelihoodRolling: return "loglikelihood_rolling";
    case RequestType::kMultipleChoice: return "multiple_choice";
  }
  return "unknown";
}

StatusOr<RequestType> ParseRequestType(std::string_view name) {
  for (RequestType type : kAllTypes) {
    if (RequestTypeName(type) == name) return type;
  }
  return InvalidArgumentError("unknown request type '", name,
                              "' (expected generate_until, loglikelihood, "
                              "loglikelihood_rolling or multiple_choice)");
}

std::string SampleScoreToJson(const SampleScore& score) {
  std::string out;
  AppendNumberMap(score.metrics, &out);
  out.pop_back();  // reopen the object to add the underscore keys
  bool empty = score.metrics.empty();
  if (!score.stats.empty()) {
    out.append(empty ? "\"_stats\":" : ",\"_stats\":");
    AppendNumberMap(score.stats, &out);
    empty = false;
  }
  if (score.extracted_by_filter.size() > 1) {
    out.append(empty ? "\"_extracted\":{" : ",\"_extracted\":{");
    bool first = true;
    for (const auto& [filter, answer] : score.extracted_by_filter) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(filter, &out);
      out.push_back(':');
      AppendJsonString(answer, &out);
    }
    out.push_back('}');
    empty = false;
  }
  if (score.responses.size() > 1) AppendStringArray("_responses", score.responses, &empty, &out);
  if (!score.stop_reasons.empty()) {
    AppendStringArray("_stop_reasons", score.stop_reasons, &empty, &out);
  }
  out.push_back('}');
  return out;
}

bool CutOff(std::string_view stop_reason) {
  return stop_reason == "max_tokens" || stop_reason == "context_full";
}

StatusOr<SampleScore> SampleScoreFromJson(std::string_view json, std::string_view source) {
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(json, source));
  if (!doc->IsObject()) return InvalidArgumentError(source, ": metrics JSON is not an object");
  SampleScore score;
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (name == "_stats") {
      if (!it->value.IsObject()) return InvalidArgumentError(source, ": _stats is not an object");
      SIGMA_RETURN_IF_ERROR(ReadNumberMap(it->value, source, &score.stats));
    } else if (name == "_extracted") {
      if (!it->value.IsObject()) {
        return InvalidArgumentError(source, ": _extracted is not an object");
      }
      for (auto e = it->value.MemberBegin(); e != it->value.MemberEnd(); ++e) {
        if (!e->value.IsString()) continue;
        score.extracted_by_filter[e->name.GetString()] =
            std::string(e->value.GetString(), e->value.GetStringLength());
      }
    } else if (name == "_responses") {
      SIGMA_RETURN_IF_ERROR(ReadStringArray(it->value, name, source, &score.responses));
    } else if (name == "_stop_reasons") {
      SIGMA_RETURN_IF_ERROR(ReadStringArray(it->value, name, source, &score.stop_reasons));
    } else if (!name.empty() && name[0] == '_') {
      continue;  // reserved for later additions
    } else {
      rapidjson::Value one(rapidjson::kObjectType);
      rapidjson::Document::AllocatorType& alloc = doc->GetAllocator();
      one.AddMember(rapidjson::Value(it->name, alloc), rapidjson::Value(it->value, alloc), alloc);
      SIGMA_RETURN_IF_ERROR(ReadNumberMap(one, source, &score.metrics));
    }
  }
  return score;
}

}  // namespace sigma::tasks
