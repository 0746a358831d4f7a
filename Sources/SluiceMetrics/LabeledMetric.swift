import Synchronization

/// The handles of one labeled metric, one per combination of label values, each made on first
/// use and kept: making a handle takes the backend's lock and allocates, which a per-call path
/// should not pay every time. Label values come from closed sets, so the table stays small.
final class LabeledMetric<Handle: Sendable>: Sendable {
    private let names: [String]
    private let make: @Sendable ([(String, String)]) -> Handle
    private let handles = Mutex<[[String]: Handle]>([:])

    init(_ names: String..., make: @escaping @Sendable ([(String, String)]) -> Handle) {
        self.names = names
        self.make = make
    }

    func callAsFunction(_ values: String...) -> Handle {
        if let handle = handles.withLock({ $0[values] }) { return handle }
        // Made outside the lock; a racing maker gets the same series from the backend.
        let handle = make(Array(zip(names, values)))
        return handles.withLock { table in
            if let existing = table[values] { return existing }
            table[values] = handle
            return handle
        }
    }
}
