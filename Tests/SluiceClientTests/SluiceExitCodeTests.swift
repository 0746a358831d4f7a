import ArgumentParser
import Foundation
import SluiceRPC
import Testing

@testable import SluiceClient

/// Every failure lands on its documented exit code.
@Suite struct SluiceExitCodeTests {
    @Test(arguments: [
        (StatusCode.notFound, SluiceExitCode.notFound),
        (.unauthenticated, .denied), (.permissionDenied, .denied),
        (.dataLoss, .integrity),
        (.unavailable, .transient), (.deadlineExceeded, .transient), (.resourceExhausted, .transient),
        (.aborted, .transient),
        (.invalidArgument, .usage),
        (.cancelled, .interrupted),
        (.failedPrecondition, .failure), (.internal, .failure), (.unknown, .failure), (.unimplemented, .failure),
        (.alreadyExists, .failure),
    ])
    func statusCodes(code: StatusCode, expected: SluiceExitCode) {
        #expect(SluiceExitCode(for: RPCError(code, "x")) == expected)
    }

    @Test func documentedNumbers() {
        #expect(SluiceExitCode.success.rawValue == 0)
        #expect(SluiceExitCode.failure.rawValue == 1)
        #expect(SluiceExitCode.usage.rawValue == 2)
        #expect(SluiceExitCode.notFound.rawValue == 3)
        #expect(SluiceExitCode.denied.rawValue == 4)
        #expect(SluiceExitCode.integrity.rawValue == 5)
        #expect(SluiceExitCode.transient.rawValue == 6)
        #expect(SluiceExitCode.serverOutOfSpace.rawValue == 7)
        #expect(SluiceExitCode.quotaExceeded.rawValue == 8)
        #expect(SluiceExitCode.accessLost.rawValue == 9)
        #expect(SluiceExitCode.interrupted.rawValue == 130)
    }

    @Test func aServerOutOfSpaceHasItsOwnCodeAndIsNotRetried() {
        let error = RPCError(.resourceExhausted, "the blob store is out of space", trailers: ["sluice-exhausted": .string("space")])
        #expect(SluiceExitCode(for: error) == .serverOutOfSpace)
        #expect(FailureKind(error) != .transient)
    }

    @Test func aQuotaHasItsOwnCodeAndIsNotRetried() {
        let error = RPCError(
            .resourceExhausted, "byte quota exceeded",
            trailers: ["sluice-exhausted": .string("quota"), "grpc-retry-pushback-ms": .string("-1")])
        #expect(SluiceExitCode(for: error) == .quotaExceeded)
    }

    @Test func aMessageOverTheSizeLimitIsAFixedFailureNotRetried() {
        let error = RPCError(.resourceExhausted, "message of 9 bytes exceeds the limit of 8 bytes", trailers: Metadata.retryRefused)
        #expect(SluiceExitCode(for: error) == .failure)
        #expect(FailureKind(error) != .transient)
        // A rate limit's positive pushback stays transient.
        let rate = RPCError(
            .resourceExhausted, "slow down",
            trailers: ["sluice-exhausted": .string("rate"), "grpc-retry-pushback-ms": .string("250")])
        #expect(FailureKind(rate) == .transient)
    }

    @Test func aRefusedTLSHandshakeIsAnAuthenticationFailure() {
        let error = RPCError(.unavailable, "TLS failed: TLS read failed: tlsv1 alert unknown ca")
        #expect(SluiceExitCode(for: error) == .denied)
    }

    @Test func exhaustedRetriesKeepTheKindOfTheLastError() {
        let error = RetriesExhaustedError(operation: "op", attempts: 9, lastError: RPCError(.unavailable, "down"))
        #expect(SluiceExitCode(for: error) == .transient)
    }

    @Test func clientSideFailures() {
        #expect(SluiceExitCode(for: IntegrityError("mismatch")) == .integrity)
        #expect(SluiceExitCode(for: UsageError("bad")) == .usage)
        #expect(SluiceExitCode(for: ValidationError("bad")) == .usage)
        #expect(SluiceExitCode(for: ConfigFileError(path: "c", line: 1, problem: "bad")) == .usage)
        #expect(SluiceExitCode(for: CancellationError()) == .interrupted)
        #expect(SluiceExitCode(for: LocalFileError(path: "/x", operation: "open", code: ENOENT)) == .notFound)
        #expect(SluiceExitCode(for: LocalFileError(path: "/x", operation: "open", code: EACCES)) == .failure)
        #expect(SluiceExitCode(for: LocalFileError(path: "/no/x", operation: "create", code: ENOENT, writing: true)) == .failure)
    }

    @Test func theHelpTextListsEveryCode() {
        for status in SluiceExitCode.allCases {
            #expect(SluiceExitCode.helpText.contains("\n  \(status.rawValue) "))
        }
    }
}

