import Foundation
import SluiceClient
import SluiceDuration
import Synchronization

/// Shows a transfer's progress: on a terminal, one status line on standard error redrawn
/// in place; otherwise plain lines on standard error, one per partition and per retry; with
/// `--json`, one JSON object per event on standard output. Events arrive from many tasks.
final class ProgressReporter: Sendable {
    enum Style {
        case terminal
        case lines
        case json
    }

    private struct State {
        var progress = TransferProgress()
        var lastDraw: Double = -1
        var lineShown = false
    }

    let style: Style
    /// Where the closing summary goes: standard output, unless the data itself goes there.
    private let summaryHandle: FileHandle
    private let state = Mutex(State())
    private let origin = ContinuousClock.now
    /// Redraws of the status line happen at most this often, in seconds.
    private static let redrawInterval = 0.1

    /// - Parameter dataOnStandardOutput: the transfer writes the object to standard output.
    init(json: Bool, dataOnStandardOutput: Bool = false) {
        style = json ? .json : (isatty(STDERR_FILENO) == 1 ? .terminal : .lines)
        summaryHandle = dataOnStandardOutput ? FileHandle.standardError : FileHandle.standardOutput
    }

    /// Runs a transfer with this reporter, ending its output cleanly however it ends, and
    /// prints the summary.
    func run(_ transfer: @Sendable (@escaping @Sendable (TransferEvent) -> Void) async throws -> TransferSummary)
        async throws
    {
        do {
            let summary = try await transfer { [self] event in handle(event) }
            clearLine()
            if style != .json { write(TransferText.summary(summary), to: summaryHandle) }
        } catch {
            clearLine()
            if style == .json { write(TransferEventJSON.failure(error), to: FileHandle.standardOutput) }
            throw error
        }
    }

    func handle(_ event: TransferEvent) {
        let now = (ContinuousClock.now - origin).inSeconds
        state.withLock { state in
            state.progress.apply(event, at: now)
            switch style {
            case .json:
                if let line = TransferEventJSON.line(for: event) { write(line, to: FileHandle.standardOutput) }
            case .lines:
                if let line = TransferText.line(for: event, progress: state.progress) {
                    write(line, to: FileHandle.standardError)
                }
            case .terminal:
                if Self.keepsLineInTerminal(event), let line = TransferText.line(for: event, progress: state.progress) {
                    Output.erase()
                    write(line, to: FileHandle.standardError)
                    state.lineShown = false
                }
                guard now - state.lastDraw >= Self.redrawInterval || isMilestone(event) else { return }
                state.lastDraw = now
                state.lineShown = true
                Output.redraw(state.progress.statusLine(at: now))
            }
        }
    }

    /// Takes the status line off the terminal.
    private func clearLine() {
        guard style == .terminal else { return }
        state.withLock { state in
            if state.lineShown { Output.erase() }
            state.lineShown = false
        }
    }

    /// Events whose line stays above the status line on a terminal.
    private static func keepsLineInTerminal(_ event: TransferEvent) -> Bool {
        switch event {
        case .started, .retrying, .partitionRestarted: true
        default: false
        }
    }

    private func isMilestone(_ event: TransferEvent) -> Bool {
        switch event {
        case .started, .partitionCompleted, .committing: true
        default: false
        }
    }

    private func write(_ line: String, to handle: FileHandle) {
        Output.write([line], style == .json ? .json : .text, to: handle)
    }
}
