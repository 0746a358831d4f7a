/// The exit codes of `sluice`.
public enum SluiceExitCode: Int32, Sendable, CaseIterable {
    /// Everything asked for was done.
    case success = 0
    /// Any failure not covered below, also a message over the server's size limit.
    case failure = 1
    /// The command line or configuration is wrong, or the server refused an argument.
    case usage = 2
    /// The object, version, session or local file does not exist, or the changes after a
    /// watch's saved cursor are no longer kept.
    case notFound = 3
    /// Authentication or permission failure: UNAUTHENTICATED, PERMISSION_DENIED, or a TLS
    /// handshake refused by either side.
    case denied = 4
    /// Integrity failure: a SHA-256 mismatch, or DATA_LOSS from the server.
    case integrity = 5
    /// A transient failure (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED a retry may pass, ABORTED, a
    /// lost connection) that outlasted every retry.
    case transient = 6
    /// The server is out of storage space (RESOURCE_EXHAUSTED naming it); an upload resumes
    /// when run again after space was freed.
    case serverOutOfSpace = 7
    /// A quota of yours is used up (RESOURCE_EXHAUSTED naming the quota, its limit and your
    /// usage); delete something or ask for a larger quota.
    case quotaExceeded = 8
    /// A sync with `--owner` found that the owner no longer shares (part of) the folder with
    /// you; it stopped without deleting or changing anything locally.
    case accessLost = 9
    /// Interrupted (SIGINT or SIGTERM); an upload or download resumes when run again.
    case interrupted = 130

    /// The exit code for a failure of this kind.
    public init(_ kind: FailureKind) {
        switch kind {
        case .usage: self = .usage
        case .notFound: self = .notFound
        case .denied: self = .denied
        case .integrity: self = .integrity
        case .transient: self = .transient
        case .serverOutOfSpace: self = .serverOutOfSpace
        case .quotaExceeded: self = .quotaExceeded
        case .accessLost: self = .accessLost
        case .interrupted: self = .interrupted
        case .other: self = .failure
        }
    }

    /// The exit code for an error.
    public init(for error: any Error) {
        self.init(FailureKind(error))
    }

    /// The table printed in `sluice --help`.
    public static let helpText = """
        Exit codes:
          0    success
          1    any other error, e.g. a local file that cannot be written (its
               directory is missing), or a message over the server's size limit
          2    usage error: bad flags, arguments or configuration (INVALID_ARGUMENT)
          3    not found: object, version, session or local file; for watch,
               the changes after its saved cursor (delete the cursor file)
          4    authentication or permission failure: UNAUTHENTICATED,
               PERMISSION_DENIED, or a TLS handshake refused by either side
          5    integrity failure: SHA-256 mismatch, DATA_LOSS
          6    transient failure that outlasted the retries: UNAVAILABLE,
               DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, lost connection;
               health answering NOT_SERVING
          7    the server is out of storage space; run the same upload again to
               resume once space was freed
          8    a quota of yours is used up (bytes, objects or open sessions);
               delete something or ask an administrator for a larger quota
          9    sync: the owner no longer shares the folder (or part of it) with
               you; nothing was deleted or changed locally
          130  interrupted (Ctrl-C or SIGTERM); run the same upload or download to resume
        """
}
