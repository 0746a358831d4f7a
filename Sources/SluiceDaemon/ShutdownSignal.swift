import Dispatch
import Foundation
import Synchronization

/// SIGTERM and SIGINT, caught from the moment this is made: the default action (the process
/// dies at once) is replaced by a drain (``ServerRunner/run(name:until:started:draining:)``).
/// Make it first thing, before anything that takes time or announces that the server is up.
///
/// A dispatch signal source starts catching its signal only once libdispatch has registered
/// it, on a thread of its own, some time after it is resumed. Until then a handler of ours
/// notes the signal (``EarlySignals``); once libdispatch's handler has replaced it, a signal
/// that came in between is raised again, now for the source. Without that, a SIGTERM sent as
/// sluiced started could be lost, and it would run on, undrained, until killed.
public struct ShutdownSignal {
    private let signals: AsyncStream<String>
    private let sources: [any DispatchSourceSignal]
    private static let caught: [(number: Int32, name: String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")]

    public init() {
        let (signals, continuation) = AsyncStream<String>.makeStream()
        self.signals = signals
        EarlySignals.prepare()
        sources = Self.caught.map { number, name in
            signal(number, EarlySignals.note)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            return source
        }
        for (number, _) in Self.caught {
            EarlySignals.waitUntilReplaced(number)
            if EarlySignals.arrived(number) { raise(number) }
        }
    }

    /// The name of the first signal received, once one is.
    func received() async -> String {
        var iterator = signals.makeAsyncIterator()
        return await iterator.next() ?? "end of signals"
    }
}

/// Signals that arrive before libdispatch catches them (see ``ShutdownSignal``), noted by a
/// handler that does nothing but an atomic store: all a signal handler may safely do.
private enum EarlySignals {
    /// Bit `n` set: signal `n` arrived. Made before the handler is installed (``prepare()``),
    /// so the handler never runs the lazy initialisation of a global.
    static let arrivals = Atomic<UInt64>(0)

    /// The longest wait for libdispatch to register a source: it takes microseconds; past this
    /// the early handler stays, and signals are noted but lost as before.
    static let patience: Duration = .seconds(2)

    static func prepare() {
        _ = arrivals.load(ordering: .relaxed)
    }

    static let note: @convention(c) (Int32) -> Void = { number in
        arrivals.bitwiseOr(1 << UInt64(number), ordering: .relaxed)
    }

    static func arrived(_ number: Int32) -> Bool {
        arrivals.load(ordering: .relaxed) & (1 << UInt64(number)) != 0
    }

    /// Waits until the signal's handler is no longer ours: libdispatch has installed its own.
    static func waitUntilReplaced(_ number: Int32) {
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            var action = sigaction()
            sigaction(number, nil, &action)
            let current = action.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: UInt.self) }
            if current != unsafeBitCast(note, to: UInt.self) { return }
            usleep(200)
        }
    }
}
