// SQLite settings that must be made before the first database opens (sqlite3_config is
// variadic, so Swift cannot call it directly).
#include <sqlite3.h>

/// Stops SQLite counting memory in a process-wide, mutex-guarded counter. Many threads each
/// with their own databases (the simulator's parallel seeds) otherwise queue on that mutex for
/// every allocation. Returns SQLITE_OK, or SQLITE_MISUSE once SQLite is initialized.
static inline int hearth_sqlite_memstatus_off(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
