// The latest schema version of this build (service/store/feedback_store.h).
#include "service/store/migrations.h"

#include "service/store/feedback_store.h"

namespace cds::service::store {

int LatestSchemaVersion() {
  const auto& migrations = internal::SqliteMigrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

}  // namespace cds::service::store
