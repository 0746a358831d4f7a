import Dispatch
import Foundation

/// SIGTERM and SIGINT, caught from the moment this is made: the default action (the process
/// dies at once) is replaced by a drain (``ServerRunner/run(name:until:started:draining:)``).
/// Make it first thing, before anything that takes time or announces that the server is up.
public struct ShutdownSignal {
    private let signals: AsyncStream<String>
    private let sources: [any DispatchSourceSignal]

    public init() {
        let (signals, continuation) = AsyncStream<String>.makeStream()
        self.signals = signals
        sources = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            return source
        }
    }

    /// The name of the first signal received, once one is.
    func received() async -> String {
        var iterator = signals.makeAsyncIterator()
        return await iterator.next() ?? "end of signals"
    }
}
