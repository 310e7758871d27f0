#include "harness/cli/flags.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace sigma::cli {
namespace {

StatusOr<int64_t> ParseInt(std::string_view text, std::string_view flag) {
  std::string s(text);
  if (s.empty()) return InvalidArgumentError("--", flag, ": expected an integer, got ''");
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) {
    return InvalidArgumentError("--", flag, ": expected an integer, got '", text, "'");
  }
  return static_cast<int64_t>(v);
}

}  // namespace

Flags::Flags(std::string command, std::string usage, std::string summary)
    : command_(std::move(command)), usage_(std::move(usage)), summary_(std::move(summary)) {}

void Flags::String(const char* name, std::string* value, const char* help) {
  specs_.push_back({name, Kind::kString, value, help, *value});
}
void Flags::Int(const char* name, int64_t* value, const char* help) {
  specs_.push_back({name, Kind::kInt, value, help, std::to_string(*value)});
}
void Flags::Double(const char* name, double* value, const char* help) {
  std::ostringstream text;
  text << *value;
  specs_.push_back({name, Kind::kDouble, value, help, text.str()});
}
void Flags::Bool(const char* name, bool* value, const char* help) {
  specs_.push_back({name, Kind::kBool, value, help, *value ? "true" : "false"});
}

Flags::Spec* Flags::FindSpec(std::string_view name) {
  for (Spec& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool Flags::was_set(std::string_view name) const {
  for (const Spec& spec : specs_) {
    if (spec.name == name) return spec.set;
  }
  return false;
}

Status Flags::Assign(Spec& spec, std::string_view value) {
  switch (spec.kind) {
    case Kind::kString:
      *static_cast<std::string*>(spec.target) = std::string(value);
      break;
    case Kind::kInt: {
      SIGMA_ASSIGN_OR_RETURN(int64_t v, ParseInt(value, spec.name));
      *static_cast<int64_t*>(spec.target) = v;
      break;
    }
    case Kind::kDouble: {
      std::string s(value);
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(s.c_str(), &end);
      if (s.empty() || errno != 0 || end != s.c_str() + s.size()) {
        return InvalidArgumentError("--", spec.name, ": expected a number, got '", value, "'");
      }
      *static_cast<double*>(spec.target) = v;
      break;
    }
    case Kind::kBool:
      if (value == "true" || value == "1") {
        *static_cast<bool*>(spec.target) = true;
      } else if (value == "false" || value == "0") {
        *static_cast<bool*>(spec.target) = false;
      } else {
        return InvalidArgumentError("--", spec.name, ": expected true or false, got '", value, "'");
      }
      break;
  }
  spec.set = true;
  return Status::Ok();
}

Status Flags::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string_view body(arg);
    body.remove_prefix(2);
    std::string_view name = body;
    std::string_view value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    Spec* spec = FindSpec(name);
    if (spec == nullptr) {
      return InvalidArgumentError(command_, ": unknown flag '--", name, "' (see ", command_,
                                  " --help)");
    }
    if (!has_value) {
      if (spec->kind == Kind::kBool) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) return InvalidArgumentError("--", name, ": missing value");
        value = args[++i];
      }
    }
    SIGMA_RETURN_IF_ERROR(Assign(*spec, value));
  }
  if (!help_requested_ && positional_.size() > max_positional_) {
    return InvalidArgumentError(command_, ": unexpected argument '", positional_[max_positional_],
                                "' (usage: ", usage_, ")");
  }
  return Status::Ok();
}

std::string Flags::Help() const {
  std::ostringstream out;
  out << "usage: " << usage_ << "\n\n" << summary_ << "\n";
  if (!specs_.empty()) out << "\nflags:\n";
  for (const Spec& spec : specs_) {
    std::string left = "  --" + spec.name;
    if (spec.kind != Kind::kBool) left += " VALUE";
    out << left;
    if (left.size() < 28) out << std::string(28 - left.size(), ' ');
    else out << "\n" << std::string(28, ' ');
    out << spec.help;
    if (!spec.default_text.empty() && spec.kind != Kind::kBool) {
      out << " (default: " << spec.default_text << ")";
    }
    out << "\n";
  }
  return out.str();
}

StatusOr<std::vector<int64_t>> ParseIntList(std::string_view text, std::string_view flag) {
  std::vector<int64_t> values;
  for (const std::string& item : SplitCommaList(text)) {
    SIGMA_ASSIGN_OR_RETURN(int64_t v, ParseInt(item, flag));
    values.push_back(v);
  }
  return values;
}

StatusOr<std::vector<int32_t>> TokenIdsInVocabulary(const std::vector<int64_t>& ids,
                                                    int64_t vocab_size, std::string_view flag) {
  std::vector<int32_t> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size) {
      return OutOfRangeError("--", flag, ": token ", id, " outside the vocabulary [0, ", vocab_size,
                             ")");
    }
    tokens.push_back(static_cast<int32_t>(id));
  }
  return tokens;
}

std::vector<std::string> SplitCommaList(std::string_view text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string item(text.substr(start, end - start));
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

}  // namespace sigma::cli
