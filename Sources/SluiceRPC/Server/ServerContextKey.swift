/// Names a value that a `CallInterceptor` resolves once per call and hands to the handler
/// through its `ServerContext` (the caller's principal, say). The RPC layer carries the value
/// without knowing its type, so what it means stays with the layer that defines the key.
public protocol ServerContextKey {
    associatedtype Value: Sendable
}

extension ServerContext {
    /// The value stored under `key` for this call, nil when none was.
    public subscript<Key: ServerContextKey>(_ key: Key.Type) -> Key.Value? {
        get { values.withLock { $0[ObjectIdentifier(key)] as? Key.Value } }
        set { values.withLock { $0[ObjectIdentifier(key)] = newValue } }
    }
}
