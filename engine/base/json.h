// JSON helpers over RapidJSON: parsing with located errors, and typed field access with clear
// messages ("config.json: num_key_heads: expected an integer, got a string").
//
// JsonFields reads the members of one object. Every getter records the key, so a strict reader can
// call RejectUnknownKeys() at the end and name any key it never asked for. Getters return Status;
// optional getters leave *out untouched when the key is absent or null.
// Thread safety: thread-compatible.
#ifndef SIGMA_ENGINE_BASE_JSON_H_
#define SIGMA_ENGINE_BASE_JSON_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma {

// The RapidJSON parse flags of every JSON reader in the project (readers of model output add
// leniency flags): iterative, so no nesting depth can overflow the stack, and UTF-8 validated.
// Not kParseFullPrecisionFlag: in RapidJSON 1.1.0 (Debian 12) that number path indexes its table of
// powers of ten out of bounds for long or far-exponent numbers (the fuzzer crashed a task config
// on "128.748...48e-336"; upstream issues 1251, 1259). Without it a number of up to 15 significant
// digits parses exactly; a longer one can be off in its last bit.
inline constexpr unsigned kJsonParseFlags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

// Parses `text` (whole, UTF-8) with kJsonParseFlags. `source` names it in errors (a path,
// "--config", ...).
StatusOr<std::unique_ptr<rapidjson::Document>> ParseJson(std::string_view text,
                                                         std::string_view source);

// "string", "integer", "array", ... for messages.
std::string_view JsonTypeName(const rapidjson::Value& value);

// Serialises a value compactly, as RapidJSON's Writer does, at any nesting depth (no recursion).
std::string JsonToString(const rapidjson::Value& value);

// One place where two JSON values differ: its path (tasks[mmlu].hash: object keys dotted, array
// items by their "name" member where they have one, else by index) and each side's value as
// compact JSON cut to 80 characters, "(absent)" for a missing side.
struct JsonDifference {
  std::string path;
  std::string before;
  std::string after;
};

// Every difference, in the order of `before`'s members and then `after`'s new ones. Arrays whose
// items are all objects with distinct string "name"s are matched by name (so a reordering is no
// difference), others by index. Depth past 64 compares the rest whole.
std::vector<JsonDifference> ListJsonDifferences(const rapidjson::Value& before,
                                                const rapidjson::Value& after);

// The same for messages: one line per difference, "path: before -> after", at most `max_lines` of
// them and then "... and N more".
std::vector<std::string> JsonDifferences(const rapidjson::Value& before,
                                         const rapidjson::Value& after, size_t max_lines);

// Appends `text` to `out` as a JSON string literal (quotes included). Invalid UTF-8 bytes are kept
// as \u00XX escapes of the byte value so nothing is silently dropped.
void AppendJsonString(std::string_view text, std::string* out);
// The same as a new string: `text` as a JSON string literal.
std::string JsonQuote(std::string_view text);

// Appends `value` as the shortest JSON number that reads back as the same double (std::to_chars),
// or null where it is not finite (JSON has no NaN or infinity).
void AppendJsonDouble(double value, std::string* out);

class JsonFields {
 public:
  // `object` must outlive this reader. `context` prefixes every error ("config.json").
  JsonFields(const rapidjson::Value& object, std::string context);

  bool Has(const char* key) const;                // present and not null
  bool Present(const char* key) const;            // present, null included
  const rapidjson::Value* Find(const char* key);  // marks the key read; null when absent

  Status RequireInt(const char* key, int64_t* out);
  Status OptionalInt(const char* key, int64_t* out);
  Status RequireDouble(const char* key, double* out);
  Status OptionalDouble(const char* key, double* out);
  Status RequireString(const char* key, std::string* out);
  Status OptionalString(const char* key, std::string* out);
  Status OptionalBool(const char* key, bool* out);
  Status OptionalStringArray(const char* key, std::vector<std::string>* out);
  Status OptionalIntArray(const char* key, std::vector<int64_t>* out);

  // Marks keys as known without reading them.
  void Ignore(std::initializer_list<const char*> keys);

  // INVALID_ARGUMENT naming the first key that no getter asked for.
  Status RejectUnknownKeys() const;

  const std::string& context() const { return context_; }
  Status TypeError(const char* key, std::string_view expected, const rapidjson::Value& got) const;

 private:
  const rapidjson::Value& object_;
  std::string context_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_JSON_H_
