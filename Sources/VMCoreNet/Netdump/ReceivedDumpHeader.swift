import VMCore

/// The kernel dump header a client sent in its KDH message, decoded as far as it goes.
///
/// netdumpd's `handle_kdh()` casts the payload to the current `struct kerneldumpheader` and
/// prints what it finds; we decode by version instead (`KernelDumpHeader`, freebsd.md §1.2),
/// so v1–v3 headers print their real fields. A header that does not decode still leaves its
/// bytes for the record, and the reason.
public struct ReceivedDumpHeader: Sendable, Equatable {
    /// The 512 bytes as received.
    public var raw: [UInt8]
    /// The decoded header, or nil when `problem` says why not.
    public var header: KernelDumpHeader?
    public var problem: String?
    /// The `compression` byte as sent (version 3 and later), even a code FreeBSD does not define.
    public var compressionCode: UInt8?
    /// Whether the 128 words XOR to zero (`kerneldump_parity()`), netdumpd's "Header Parity Check".
    public var parityPasses: Bool

    public init(raw bytes: [UInt8]) {
        // Always 512 bytes: a short header is padded with zeros (and fails its parity).
        raw = Array(bytes.prefix(KernelDumpHeader.size)) + [UInt8](repeating: 0, count: max(0, KernelDumpHeader.size - bytes.count))
        parityPasses = KernelDumpHeader.parity(raw[...]) == 0
        let version = UInt32(raw[32]) << 24 | UInt32(raw[33]) << 16 | UInt32(raw[34]) << 8 | UInt32(raw[35])
        // Where versions 3 and 4 keep the compression byte (`kerneldump_compat.h`, kerneldump.h).
        let compressionAt: Int? = version == 3 ? 72 : version == 4 ? 495 : nil
        compressionCode = compressionAt.map { raw[$0] }
        do {
            header = try KernelDumpHeader(bytes: raw, file: "KDH", offset: 0, verifyParity: false)
        } catch let error where error.kind == .corrupt && compressionAt != nil {
            // An undefined compression code: netdumpd prints "???" and keeps the name as is.
            var cleared = raw
            cleared[compressionAt!] = 0
            header = try? KernelDumpHeader(bytes: cleared, file: "KDH", offset: 0, verifyParity: false)
            if header == nil { problem = error.message }
        } catch {
            problem = error.reason
        }
    }

    /// netdumpd's name for the compression (`compalgos[]`): none, gzip, zstd or ???; nil before
    /// version 3, which has no such field.
    public var compressionName: String? {
        guard let code = compressionCode else { return nil }
        return KernelDumpHeader.Compression(rawValue: code)?.name ?? "???"
    }

    /// The suffix netdumpd appends to the core file of a compressed dump (`suffixes[]`).
    public var compressedSuffix: String? {
        compressionCode.flatMap(KernelDumpHeader.Compression.init(rawValue:))?.suffix
    }

    /// Whether the dump is encrypted (version 2 and later, `dumpkeysize` > 0): netdumpd then
    /// names the core `vmcore_encrypted.<host>.N`.
    public var isEncrypted: Bool { (header?.version ?? 0) >= 2 && (header?.dumpKeySize ?? 0) > 0 }
}
