import Glibc

/// One fuzz input, as libFuzzer hands it over.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ target: FuzzTarget
) -> CInt

/// Runs libFuzzer on `target` with the process's arguments, and exits with its status.
///
/// The fuzz executables call this from their own entry point instead of relying on
/// libFuzzer's `main`: SwiftPM points `main` at the Swift entry point of an executable unless
/// it was itself told `--sanitize=fuzzer`, and that flag cannot be combined with address
/// sanitizer (swiftc keeps only the last `-sanitize`).
public func runFuzzer(_ target: FuzzTarget) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
}
