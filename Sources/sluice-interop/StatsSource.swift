import SluiceHTTP2
import Synchronization

/// Hands the running server to the echo service's statistics closure, which is created
/// before the server exists.
final class StatsSource: Sendable {
    private let current = Mutex<HTTP2Server?>(nil)

    var server: HTTP2Server? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
