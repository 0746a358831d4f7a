import SluicePostgres

extension PrincipalDirectory {
    /// What ``adoptLowercaseDNSNames()`` did.
    public struct DNSNameCaseReport: Sendable {
        /// Principals whose name was lowercased: (handle, new name).
        public var adopted: [(handle: String, name: String)] = []
        /// Principals left as they were because the lowercase name belongs to another
        /// principal already: (handle, name, the other's handle).
        public var stranded: [(handle: String, name: String, holder: String)] = []
    }

    /// Lowercases the names of principals recorded under a DNS name with capitals, which
    /// sluiced did before `--principal-from san-dns` folded case: the certificate (or its
    /// renewal in other case) then still reaches its principal and objects, instead of
    /// making a new, empty one. Run at start-up under `san-dns`, before any call.
    ///
    /// Only names that can be nothing but a DNS name count (letters, digits, `.`, `-`, `_`,
    /// `*`: every other mapping's names hold `=` or `:`). Where several spellings fold to one
    /// name, the oldest principal takes it; where a principal already holds the lowercase
    /// name, nothing changes and the other is reported stranded, for the operator to settle.
    public func adoptLowercaseDNSNames() async throws -> DNSNameCaseReport {
        try await database.transaction { connection in
            try Self.lockHandles(on: connection)
            var report = DNSNameCaseReport()
            report.adopted = try connection.execute("""
                WITH folding AS (
                    SELECT DISTINCT ON (lower(p.name)) p.id, lower(p.name) AS folded FROM principals p
                    WHERE p.name ~ '[A-Z]' AND p.name ~ '^[A-Za-z0-9.*_-]+$'
                      AND NOT EXISTS (SELECT 1 FROM principals q WHERE q.name = lower(p.name))
                    ORDER BY lower(p.name), p.id)
                UPDATE principals p SET name = f.folded FROM folding f WHERE p.id = f.id
                RETURNING p.handle, p.name
                """).rows.map { (handle: try $0.optionalString("handle") ?? "", name: try $0.string("name")) }
            report.stranded = try connection.execute("""
                SELECT p.handle, p.name, q.handle AS holder FROM principals p
                JOIN principals q ON q.name = lower(p.name)
                WHERE p.name ~ '[A-Z]' AND p.name ~ '^[A-Za-z0-9.*_-]+$'
                ORDER BY p.id
                """).rows.map {
                (handle: try $0.optionalString("handle") ?? "", name: try $0.string("name"),
                 holder: try $0.optionalString("holder") ?? "")
            }
            return report
        }
    }
}
