// Schema migrations of the results database (documented in harness/store/SCHEMA.md).
//
// The schema version lives in PRAGMA user_version. Migrate() applies every step from the file's
// version up to kSchemaVersion inside ONE BEGIN IMMEDIATE transaction whose last statement sets
// user_version, so a crash mid-migration leaves the file at its old version. A file whose version
// is newer than this binary knows, or whose application_id belongs to another program, is refused.
// Thread safety: operates on the connection it is given; see sqlite.h.
#ifndef SIGMA_HARNESS_STORE_SCHEMA_H_
#define SIGMA_HARNESS_STORE_SCHEMA_H_

#include <cstdint>

#include <sqlite3.h>

#include "engine/base/status.h"

namespace sigma::store {

inline constexpr int kSchemaVersion = 3;
// "SGEV" in ASCII: lets `file` and other tools recognise results databases.
inline constexpr int32_t kApplicationId = 0x53474556;

// Brings the database to `target_version` (tests pass an older one to build legacy files).
Status Migrate(sqlite3* db, int target_version = kSchemaVersion);

// Whether `db`, whose user_version is `version`, can be a results database: FAILED_PRECONDITION
// naming why not (another application's id, a schema newer than this binary's, tables without a
// sigma-eval schema version). An empty file passes.
Status CheckResultsDatabase(sqlite3* db, int version);

StatusOr<int> ReadUserVersion(sqlite3* db);

}  // namespace sigma::store

#endif  // SIGMA_HARNESS_STORE_SCHEMA_H_
