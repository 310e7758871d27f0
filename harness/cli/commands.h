// The sigma-eval subcommands. Each lives in harness/cli/cmd_<name>.cc and takes the arguments that
// follow its name. Exit codes: 0 success, 1 the work failed (a run error, a regression found by
// compare), 2 bad usage or bad input (flags, files), 3 an environment problem (sandbox cannot start,
// device unavailable), 130 interrupted.
#ifndef SIGMA_HARNESS_CLI_COMMANDS_H_
#define SIGMA_HARNESS_CLI_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace sigma::cli {

using Args = std::vector<std::string>;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitEnvironment = 3;
inline constexpr int kExitInterrupted = 130;

// Prints "sigma-eval <command>: <status>" to stderr and returns the exit code for its kind.
int ReportError(const std::string& command, const Status& status);

class Flags;
// Parses a command's flags from args: nullopt when the command goes on; otherwise the exit code to
// return at once, after printing the help (--help, -h: kExitOk) or the parse error (ReportError).
std::optional<int> ParseFlags(Flags& flags, const Args& args);

// For the commands that write a model at --out (convert, make-model): INVALID_ARGUMENT naming the
// path where it is a file or a folder with anything in it, unless `force` (--force): a model is
// not overwritten, nor written beside another one's files, by accident.
Status CheckOutputFree(const std::string& path, bool force);

// For the commands that write a file at --out (export, report, compare, logits): INVALID_ARGUMENT
// where `path` is an SQLite database (a results database given as --out by mistake, even the one
// being read, would be replaced).
Status CheckOutputNotADatabase(const std::string& path);

int RunBench(const Args& args);
int RunRun(const Args& args);
int RunExport(const Args& args);
int RunPrompts(const Args& args);
int RunMerge(const Args& args);
int RunLs(const Args& args);
int RunStatus(const Args& args);
int RunShow(const Args& args);
int RunMakeModel(const Args& args);
int RunGenerate(const Args& args);
int RunLogits(const Args& args);
int RunDevice(const Args& args);
int RunInspect(const Args& args);
int RunTokenize(const Args& args);
int RunEmbed(const Args& args);
int RunSandbox(const Args& args);
int RunReport(const Args& args);
int RunCompare(const Args& args);
int RunConvert(const Args& args);
int RunServe(const Args& args);

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_COMMANDS_H_
