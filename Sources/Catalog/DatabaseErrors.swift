import Foundation
import GRDB

extension CatalogError {
    /// A database failure as the user should read it: SQLite's busy, full, corrupt, read-only and
    /// I/O results each get their own code and a message that says what to do, naming `label`
    /// (the catalog's path). `action` is what was being done ("opening", "writing", …).
    init(databaseError error: any Error, label: String, action: String) {
        guard let e = error as? DatabaseError else {
            self.init(.database, "\(label): catalog database error while \(action): \(error)")
            return
        }
        let detail = e.message ?? "\(e.extendedResultCode)"
        switch e.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self.init(.busy, "database is busy: another hearth process holds it (\(label), \(detail)); "
                      + "retry when it is done")
        case .SQLITE_FULL:
            self.init(.diskFull, "disk full while \(action == "opening" ? "opening" : "writing") the catalog "
                      + "(\(label)); free some space and retry")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            self.init(.corrupt, "catalog database is corrupt (\(label): \(detail)); "
                      + "run hearth verify / restore from a peer")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            self.init(.readOnly, "catalog database cannot be written or opened (\(label): \(detail)); "
                      + "check the file's permissions and the disk")
        case .SQLITE_IOERR:
            self.init(.io, "I/O error while \(action) the catalog (\(label): \(detail)); check the disk")
        default:
            self.init(.database, "\(label): catalog database error while \(action) (\(detail))")
        }
    }
}
