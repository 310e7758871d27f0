// MergeResults: copies runs and bench sessions of another results database into this one, so
// that runs made on several machines (a GPU box, a CI job, a colleague's laptop) can be reported
// and compared together (`sigma-eval merge`, `report`, `compare`).
//
//   SIGMA_ASSIGN_OR_RETURN(auto into, ResultsStore::Open("all.db"));
//   SIGMA_ASSIGN_OR_RETURN(auto from, ResultsStore::Open("ci.db", {.create = false, .read_only =
//   true})); SIGMA_ASSIGN_OR_RETURN(MergeReport report, MergeResults(*into, *from, {}));
//
// What is copied: a run with its samples (byte-exact), progress counters, aggregates and speed
// rows; a bench session with its speed rows and, where its run is here, the link to it. Copies
// get new ids here (in the source's order); every column the two schema versions share is
// copied, so a source written by an older sigma-eval merges too (columns it lacks stay NULL).
//
// A run is the same run as one here when fingerprint, start time and host agree (a bench session:
// configuration, start time and host). Such a copy at the same stage (state, finish time,
// segments, sample count; a session's state, finish time and speed rows) is not copied again, so
// merging one file repeatedly brings only what is new. One at another stage (the source ran on or
// was resumed since the last merge, or this copy was resumed here) is a conflict: it is left as it
// is here and reported, unless `replace`, which replaces this copy (keeping its id) by the
// source's.
//
// Everything happens in one transaction here over one read snapshot of the source (which may be
// written meanwhile, e.g. by a run in progress: it merges as it stood): an error leaves this
// database as it was. The source is only read. Merging a file into itself is refused.
// Thread safety: use neither store from another thread meanwhile.
#ifndef SIGMA_HARNESS_STORE_MERGE_H_
#define SIGMA_HARNESS_STORE_MERGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "harness/store/results_store.h"

namespace sigma::store {

struct MergeOptions {
  std::optional<std::vector<int64_t>> run_ids;    // nullopt: every run; empty: none
  std::optional<std::vector<int64_t>> bench_ids;  // nullopt: every bench session; empty: none
  bool replace = false;  // a copy here at another stage is replaced by the source's
  bool dry_run = false;  // everything as it would be, then rolled back: nothing written
};

enum class MergeOutcome {
  kMerged,       // copied, with a new id
  kAlreadyHere,  // the same copy is here: nothing copied
  kReplaced,     // the copy here (another stage) was replaced, keeping its id
  kConflict,     // the copy here is at another stage: left as it is, nothing copied
};
std::string_view MergeOutcomeName(MergeOutcome outcome);  // "merged", "already here", ...

struct MergedItem {
  bool bench = false;     // a bench session; else a run
  int64_t source_id = 0;  // its id in the source
  int64_t id = 0;         // its id here (the new copy, or the copy found)
  MergeOutcome outcome = MergeOutcome::kMerged;
  int64_t rows = 0;        // samples (a run) or speed rows (a bench session) copied
  std::string difference;  // kReplaced / kConflict: how the two copies differ
};

struct MergeReport {
  std::vector<MergedItem> items;  // runs in the source's id order, then bench sessions
  int64_t Count(MergeOutcome outcome) const;
};

// INVALID_ARGUMENT when both are one file; NOT_FOUND naming a selected id the source lacks;
// otherwise errors of SQLite, after which `into` is unchanged.
StatusOr<MergeReport> MergeResults(ResultsStore& into, ResultsStore& from,
                                   const MergeOptions& options);

}  // namespace sigma::store

#endif  // SIGMA_HARNESS_STORE_MERGE_H_
