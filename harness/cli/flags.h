// Flags: a small, strict command-line parser shared by every sigma-eval subcommand.
//
// Each subcommand declares its flags (name, help, default) on a Flags object, then Parse() fills
// them from argv. Unknown flags, missing values and values of the wrong type are INVALID_ARGUMENT
// naming the flag. "--name=value" and "--name value" are both accepted; bool flags take no value
// (or =true/=false). Everything after "--" and every non-flag word goes to positional(); a command
// takes none unless it says how many it takes (TakesPositional), so that a stray word (a second
// task after "--tasks mmlu", a run id where a command takes none) is an error, not ignored.
// Thread safety: thread-compatible.
#ifndef SIGMA_HARNESS_CLI_FLAGS_H_
#define SIGMA_HARNESS_CLI_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::cli {

class Flags {
 public:
  Flags(std::string command, std::string usage, std::string summary);

  void String(const char* name, std::string* value, const char* help);
  void Int(const char* name, int64_t* value, const char* help);
  void Double(const char* name, double* value, const char* help);
  void Bool(const char* name, bool* value, const char* help);
  // Accepts up to `at_most` positional arguments (kAnyNumber: no limit); 0 unless called.
  static constexpr size_t kAnyNumber = static_cast<size_t>(-1);
  void TakesPositional(size_t at_most) { max_positional_ = at_most; }

  // Parses args (without the program and subcommand names). Sets help_requested() on --help/-h.
  Status Parse(const std::vector<std::string>& args);

  const std::string& command() const { return command_; }
  bool help_requested() const { return help_requested_; }
  bool was_set(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Help() const;

 private:
  enum class Kind { kString, kInt, kDouble, kBool };
  struct Spec {
    std::string name;
    Kind kind;
    void* target;
    std::string help;
    std::string default_text;
    bool set = false;
  };
  Spec* FindSpec(std::string_view name);
  Status Assign(Spec& spec, std::string_view value);

  std::string command_;
  std::string usage_;
  std::string summary_;
  std::vector<Spec> specs_;
  std::vector<std::string> positional_;
  size_t max_positional_ = 0;
  bool help_requested_ = false;
};

// Parses "1,2,3" into integers; errors name `flag`.
StatusOr<std::vector<int64_t>> ParseIntList(std::string_view text, std::string_view flag);
// Token ids given by --flag as ids of a vocabulary of `vocab_size`; OUT_OF_RANGE naming the flag
// and the first id outside [0, vocab_size).
StatusOr<std::vector<int32_t>> TokenIdsInVocabulary(const std::vector<int64_t>& ids,
                                                    int64_t vocab_size, std::string_view flag);
// Splits "a,b,c" (empty items dropped).
std::vector<std::string> SplitCommaList(std::string_view text);

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_FLAGS_H_
