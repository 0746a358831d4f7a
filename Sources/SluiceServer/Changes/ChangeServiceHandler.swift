import SluiceProto
import SluiceRPC
import SluiceStore

/// sluice.v1.ChangeService on top of the change log.
///
/// A watcher reads the log from its cursor in batches, sends them, and when caught up waits
/// for the process's single `ChangeListener` to wake it (a NOTIFY from any instance on the
/// database, or the periodic tick); it never polls the log on its own (nudged while it waits, it
/// only admits its caller again: once a second, one watcher of each principal and certificate
/// expiry, for all of them). Flow control holds a watcher whose client stops reading (a write
/// waits for the window, holding at most one batch).
public struct ChangeServiceHandler: Sluice_V1_ChangeServiceService {
    let storage: Storage
    let signal: ChangeSignal
    let limits: WatchLimits
    /// Watchers woken together at the same cursor read the log once (``SharedChangeReads``).
    let sharedReads = SharedChangeReads()

    /// Most changes ListChanges returns per call, and its default.
    static let maxPageSize = 1000
    static let defaultPageSize = 100
    /// How many scan windows one ListChanges call looks through at most before answering
    /// with what it found (caught_up false): bounds the work of a call.
    static let maxScansPerPage = 16

    public init(storage: Storage, signal: ChangeSignal, limits: WatchLimits = WatchLimits()) {
        self.storage = storage
        self.signal = signal
        self.limits = limits
    }

    public func watchChanges(
        request: Sluice_V1_WatchChangesRequest, response: ServerResponseWriter<Sluice_V1_WatchChangesResponse>,
        context: ServerContext
    ) async throws {
        let caller = try context.caller
        try Self.validate(owner: request.owner, prefix: request.prefix)
        var cursor = request.cursor.isEmpty ? try await storage.changes.head() : try ChangeCursor(parsing: request.cursor)
        var sent = cursor
        if request.cursor.isEmpty {
            // Watching from now: say where "now" is at once, so that the client holds a
            // cursor (and knows the watch has begun) before the first change.
            var start = Sluice_V1_WatchChangesResponse()
            start.cursor = cursor.description
            try await response.write(start)
        }
        var lastSend = ContinuousClock.now
        var slowClient = false
        let pulseGroup = Self.pulseGroup(caller.principal.id, certificateExpiry: context.peer?.notAfter)
        while !Task.isCancelled {
            if signal.isClosed {
                throw StorageError.unavailable("the server is shutting down; watch again from cursor \(sent)")
            }
            let generation = signal.generation
            let key = SharedChangeReads.Key(
                principalID: caller.principal.id, owner: request.owner, prefix: request.prefix, cursor: cursor,
                limit: limits.batchSize, generation: generation)
            let (storage, principal) = (storage, caller.principal)
            let page = try await sharedReads.page(for: key) {
                try await storage.changes.read(
                    after: key.cursor, for: principal, owner: key.owner, prefix: key.prefix, limit: key.limit,
                    forWatcher: true)
            }
            let lag = page.head.position - cursor.position
            if slowClient && lag > limits.maxLag {
                throw StorageError.aborted(
                    "this watcher fell \(lag) changes behind (more than \(limits.maxLag)) while its client was "
                        + "not reading; watch again from cursor \(sent)")
            }
            cursor = page.through
            let skipped = cursor.position - sent.position
            let heartbeatDue = cursor != sent
                && (skipped >= limits.heartbeatSkip || ContinuousClock.now - lastSend >= limits.heartbeatInterval)
            if !page.changes.isEmpty || heartbeatDue {
                var message = Sluice_V1_WatchChangesResponse()
                message.changes = page.changes.map(Sluice_V1_Change.init)
                message.cursor = cursor.description
                let started = ContinuousClock.now
                guard try await Self.writable(response, within: limits.stallLimit) else {
                    throw StorageError.aborted(
                        "this watcher's client took nothing for \(limits.stallLimit); watch again from cursor \(sent)")
                }
                try await response.write(message)
                slowClient = ContinuousClock.now - started >= limits.slowWrite
                sent = cursor
                lastSend = ContinuousClock.now
            }
            guard page.caughtUp else { continue }
            // Caught up, the log read: the client learns that its watch got through before it
            // waits, however long nothing changes (`sluice watch` counts that as a reconnection
            // that worked, not as one more failure in a row). Once only: later calls do nothing.
            try await response.sendHeaders()
            // The caller is admitted again after every wait, a nudge included, which reads no
            // log: a disabled principal's watch ends then, idle or not, and sends nothing made
            // after the disable. A nudge (once a second) wakes one watcher of the group, which
            // admits it for all of them: refused, it wakes the others, which are refused too.
            var woken = false
            while !woken {
                woken = await signal.wait(after: generation, group: pulseGroup)
                do {
                    try await context.admitCallerAgain()
                } catch {
                    signal.nudge(group: pulseGroup)
                    throw error
                }
            }
        }
    }

    /// The group of waiting watchers whose admission comes out the same for all (see
    /// `ChangeSignal.nudge()`): one principal, seen through certificates that expire at the same
    /// moment. A renewed certificate on another connection must not vouch for an expired one.
    static func pulseGroup(_ principalID: Int64, certificateExpiry: Int64?) -> Int64 {
        var hasher = Hasher()
        hasher.combine(principalID)
        hasher.combine(certificateExpiry)
        return Int64(hasher.finalize())
    }

    public func listChanges(request: Sluice_V1_ListChangesRequest, context: ServerContext) async throws
        -> Sluice_V1_ListChangesResponse
    {
        let caller = try context.caller
        try Self.validate(owner: request.owner, prefix: request.prefix)
        let size = request.pageSize == 0 ? Self.defaultPageSize : Int(request.pageSize)
        guard (1...Self.maxPageSize).contains(size) else {
            throw StorageError.invalidArgument("page_size must be between 1 and \(Self.maxPageSize), or 0 for \(Self.defaultPageSize)")
        }
        var cursor = request.cursor.isEmpty ? try await storage.changes.oldest() : try ChangeCursor(parsing: request.cursor)
        var changes: [ChangeEvent] = []
        var caughtUp = false
        for _ in 0..<Self.maxScansPerPage {
            let page = try await storage.changes.read(
                after: cursor, for: caller.principal, owner: request.owner, prefix: request.prefix, limit: size - changes.count)
            changes += page.changes
            cursor = page.through
            caughtUp = page.caughtUp
            if caughtUp || changes.count >= size { break }
        }
        var response = Sluice_V1_ListChangesResponse()
        response.changes = changes.map(Sluice_V1_Change.init)
        response.nextCursor = cursor.description
        response.caughtUp = caughtUp
        return response
    }

    /// Whether the client's window opened within `limit` (false: it stalled).
    private static func writable(
        _ response: ServerResponseWriter<Sluice_V1_WatchChangesResponse>, within limit: Duration
    ) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await response.waitUntilWritable()
                return true
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    /// `owner` is empty (any owner) or spelled as a handle; an unknown one shows nothing.
    private static func validate(owner: String, prefix: String) throws(StorageError) {
        if !owner.isEmpty { _ = try PrincipalHandle.parse(owner, field: "owner") }
        guard prefix.utf8.count <= ObjectName.maxBytes, !prefix.utf8.contains(0) else {
            throw .invalidArgument("prefix must be at most \(ObjectName.maxBytes) bytes without NUL")
        }
    }
}
