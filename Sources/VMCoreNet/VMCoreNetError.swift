/// The one error type of the VMCoreNet library: a packet refused, a peer gone silent, a file
/// the server could not write.
///
/// Like `VMCoreError` it reads as one sentence: `netdump packet from 192.0.2.7:20024: length
/// field disagrees with the datagram: mh_len 1448, but 1000 bytes follow the header`.
public struct VMCoreNetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; servers count dropped packets by it.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A datagram shorter than the 24-byte message header (netdumpd: "runt packet").
        case truncated
        /// `mh_len` does not match the bytes that follow the header (netdumpd: "Bad packet size").
        case lengthMismatch
        /// A payload larger than the server accepts (`NETDUMP_DATASIZE`, 4096 bytes).
        case oversized
        /// A message type netdump does not define (netdumpd: "unexpected message type").
        case unknownType
        /// An offset (or offset plus length) beyond the configured limit for that file.
        case outOfRange
        /// A well-formed message that is wrong at this point of the conversation.
        case unexpected
        /// A herald path that is not a safe relative directory inside the dump directory.
        case unsafePath
        /// Too many heralds, or too many sessions at once.
        case overloaded
        /// The operating system refused a file or socket operation.
        case io
        /// The peer stopped answering.
        case timedOut
        /// The server ended the transfer (it sent FINISHED to the client).
        case connectionReset
        /// A command-line argument or configuration value is wrong.
        case usage
    }

    public var kind: Kind
    /// Who or what the error is about: a peer (`192.0.2.7:20024`) or a file.
    public var subject: String
    /// What is wrong: "length field disagrees with the datagram".
    public var message: String
    /// Why, when there is more to say: "mh_len 1448, but 1000 bytes follow the header".
    public var detail: String?

    public init(_ kind: Kind, _ subject: String, _ message: String, _ detail: String? = nil) {
        self.kind = kind
        self.subject = subject
        self.message = message
        self.detail = detail
    }

    /// `SUBJECT: MESSAGE: DETAIL`, leaving out what is not known.
    public var description: String {
        var text = subject.isEmpty ? message : "\(subject): \(message)"
        if let detail { text += ": \(detail)" }
        return text
    }
}
