import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// The names in an X.509 certificate that identify its holder.
public struct CertificateIdentity: Sendable, Equatable {
    /// The subject in one-line RFC 2253 form.
    public var subject: String
    public var commonName: String?
    public var dnsNames: [String] = []
    public var ipAddresses: [String] = []
    public var uris: [String] = []
    public var emailAddresses: [String] = []
    /// Subject alternative names of other kinds (otherName, directoryName, registeredID, ...), each
    /// as the hex of its DER encoding: kept so that two certificates differing only there still
    /// have different identities.
    public var otherNames: [String] = []
    /// When the certificate stops being valid (its notAfter), in seconds since the Unix epoch:
    /// a connection outlives its handshake, and a server refuses calls past this moment.
    public var notAfter: Int64?

    /// Reads the names of a certificate (an `X509*`).
    init(certificate: OpaquePointer) {
        let name = X509_get_subject_name(certificate)
        subject = Self.rfc2253(name)
        commonName = Self.commonName(name)
        notAfter = Self.unixTime(X509_get0_notAfter(certificate))
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return }
        let names = OpaquePointer(raw)
        defer { sluice_GENERAL_NAMES_free(names) }
        for index in 0..<sluice_GENERAL_NAMES_count(names) {
            guard let entry = sluice_GENERAL_NAMES_value(names, index) else { continue }
            switch entry.pointee.type {
            case GEN_DNS: if let text = Self.text(entry.pointee.d.dNSName) { dnsNames.append(text) }
            case GEN_URI: if let text = Self.text(entry.pointee.d.uniformResourceIdentifier) { uris.append(text) }
            case GEN_EMAIL: if let text = Self.text(entry.pointee.d.rfc822Name) { emailAddresses.append(text) }
            case GEN_IPADD: if let text = Self.ipAddress(entry.pointee.d.iPAddress) { ipAddresses.append(text) }
            default: if let der = Self.der(entry) { otherNames.append(der) }
            }
        }
    }

    private static func rfc2253(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, sluice_XN_FLAG_RFC2253())
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        let count = BIO_read(bio, &bytes, Int32(bytes.count))
        return String(decoding: bytes.prefix(max(0, Int(count))), as: UTF8.self)
    }

    private static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }

    private static func commonName(_ name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { CRYPTO_free(utf8, #fileID, #line) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func text(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))), as: UTF8.self)
    }

    private static func der(_ name: UnsafeMutablePointer<GENERAL_NAME>) -> String? {
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_GENERAL_NAME(name, &buffer)
        guard length > 0, let buffer else { return nil }
        defer { CRYPTO_free(buffer, #fileID, #line) }
        return Hex.encode(Array(UnsafeBufferPointer(start: buffer, count: Int(length))))
    }

    private static func ipAddress(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return nil }
        let length = Int(ASN1_STRING_length(string))
        let family: Int32
        switch length {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, data, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
