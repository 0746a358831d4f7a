@testable import SluiceHTTP2
import SluiceRPC
import Testing

/// What gRPC over HTTP/2 adds to and requires of header blocks, on both sides: the part of
/// the protocol the RPC layer never sees.
@Suite struct GRPCHeadTests {
    static func request(method: String = "POST", contentType: String? = "application/grpc") -> [HeaderField] {
        var fields = [
            HeaderField(":method", method), HeaderField(":scheme", "https"), HeaderField(":path", "/test.Echo/Unary"),
            HeaderField(":authority", "localhost:1"),
        ]
        if let contentType { fields.append(HeaderField("content-type", contentType)) }
        return fields + [
            HeaderField("te", "trailers"), HeaderField("user-agent", "test/1"), HeaderField("grpc-timeout", "1S"),
            HeaderField("x-request", "r"),
        ]
    }

    // MARK: Requests, as a server reads them

    @Test(arguments: ["application/grpc", "application/grpc+proto", "application/grpc;charset=utf-8"])
    func aGRPCRequestBecomesACallWithoutTheTransportsFields(_ contentType: String) {
        #expect(GRPCRequestHead.read(Self.request(contentType: contentType)) == .call(
            path: "/test.Echo/Unary",
            fields: [HeaderField("user-agent", "test/1"), HeaderField("grpc-timeout", "1S"), HeaderField("x-request", "r")]))
    }

    @Test(arguments: ["application/json", "text/plain", "application/grpcx", "application/grpc-web", ""])
    func anotherContentTypeIsRefusedWith415(_ contentType: String) {
        #expect(GRPCRequestHead.read(Self.request(contentType: contentType)) == .refused(
            httpStatus: 415, message: "content-type '\(contentType)' is not application/grpc", reason: .contentType))
    }

    @Test func aMissingContentTypeIsRefusedWith415() {
        #expect(GRPCRequestHead.read(Self.request(contentType: nil)) == .refused(
            httpStatus: 415, message: "content-type '' is not application/grpc", reason: .contentType))
    }

    @Test(arguments: ["GET", "PUT", "post"])
    func aMethodOtherThanPOSTIsRefusedWith405(_ method: String) {
        #expect(GRPCRequestHead.read(Self.request(method: method)) == .refused(
            httpStatus: 405, message: "gRPC requires the POST method", reason: .method))
    }

    // MARK: Requests, as a client makes them

    @Test func aRequestHeadHasThePseudoHeadersFirstThenTheCallsFields() {
        let head = GRPCRequestHead.make(
            path: "/test.Echo/Unary", authority: "localhost:1", scheme: "https",
            fields: [HeaderField("user-agent", "test/1"), HeaderField("grpc-timeout", "1S"), HeaderField("x-request", "r")])
        #expect(head == Self.request())
    }

    // MARK: Responses

    @Test func aResponseHeadStartsWithStatusAndContentType() {
        let head = GRPCResponseHead.make(fields: [HeaderField("grpc-accept-encoding", "identity")])
        #expect(head == [
            HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
            HeaderField("grpc-accept-encoding", "identity"),
        ])
        #expect(GRPCResponseHead.make(httpStatus: 415, fields: [])[0] == HeaderField(":status", "415"))
    }

    @Test func aClientReceivesTheCallsFieldsOfAGRPCResponse() {
        let event = GRPCResponseHead.read(GRPCResponseHead.make(fields: [HeaderField("x-initial", "one")]))
        guard case .headers(let fields) = event else {
            Issue.record("expected headers, got \(event)")
            return
        }
        #expect(fields == [HeaderField("x-initial", "one")])
    }

    @Test func aTrailersOnlyAnswerKeepsItsOwnStatusWhateverTheHTTPStatus() {
        let fields = StatusFields.status(.internal, "gRPC requires the POST method")
        let event = GRPCResponseHead.read(GRPCResponseHead.make(httpStatus: 405, fields: fields))
        guard case .headers(let received) = event else {
            Issue.record("expected headers, got \(event)")
            return
        }
        #expect(received == fields)
    }

    @Test(arguments: [(503, StatusCode.unavailable), (404, .unimplemented), (401, .unauthenticated), (500, .unknown)])
    func anHTTPErrorWithoutAGRPCStatusStandsForOne(_ httpStatus: Int, _ code: StatusCode) {
        let event = GRPCResponseHead.read([HeaderField(":status", String(httpStatus)), HeaderField("content-type", "text/html")])
        guard case .trailers(let fields) = event else {
            Issue.record("expected trailers, got \(event)")
            return
        }
        #expect(fields.first(named: "grpc-status") == String(code.rawValue))
        #expect(fields.first(named: "grpc-message") == PercentEncoding.encode("the server answered HTTP status \(httpStatus)"))
    }

    @Test func anHTTP200ThatIsNotGRPCIsUnknown() {
        let event = GRPCResponseHead.read([HeaderField(":status", "200"), HeaderField("content-type", "text/html")])
        guard case .trailers(let fields) = event else {
            Issue.record("expected trailers, got \(event)")
            return
        }
        #expect(fields.first(named: "grpc-status") == String(StatusCode.unknown.rawValue))
        #expect(fields.first(named: "grpc-message")?.contains("text/html") == true)
    }
}
