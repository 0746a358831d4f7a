import Foundation

extension Duration {
    /// The duration in seconds, for the Foundation and libc calls that take a `TimeInterval`.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
