/// One statement and its parameters (`$1`, `$2`, ...), for
/// ``PostgresConnection/execute(pipeline:)``, which sends several in one round trip.
public struct PostgresStatement: Sendable {
    public var sql: String
    public var params: [PostgresValue]

    public init(_ sql: String, _ params: [PostgresValue] = []) {
        self.sql = sql
        self.params = params
    }
}
