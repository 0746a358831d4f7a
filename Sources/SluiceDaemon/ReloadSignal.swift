import Dispatch
import Foundation
import Logging

/// SIGHUP, which `systemctl reload`, init scripts and a closed terminal send, is ignored with a
/// notice: sluiced reloads nothing, and dying at once would cut the calls in flight without the
/// drain that SIGTERM gives them.
enum ReloadSignal {
    /// Ignores SIGHUP from now on; keep the answer alive for as long as the notice should be logged.
    static func ignore(logging logger: Logger) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler {
            logger.notice(
                "SIGHUP ignored: sluiced reloads nothing; restart it to apply new settings (SIGTERM drains calls first)")
        }
        source.resume()
        return source
    }
}
