import ArgumentParser

/// `--owner HANDLE` of the object commands: address another principal's objects, those it
/// shares with you (see `sluice shares`).
struct OwnerFlag: ParsableArguments {
    @Option(help: "The handle of the principal whose objects to use (one that shares them with you); yourself by default.")
    var owner = ""
}
