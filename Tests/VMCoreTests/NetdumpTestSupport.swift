import Foundation
import NIOCore
import VMCore
import VMCoreNet

/// A datagram holding one netdump message.
func netdumpPacket(_ type: NetdumpMessageType, seqno: UInt32, offset: UInt64 = 0, _ payload: [UInt8] = []) -> ByteBuffer {
    NetdumpMessage.datagram(NetdumpMessageHeader(type: type, seqno: seqno, offset: offset, length: UInt32(payload.count)), payload: payload)
}

/// A datagram of raw bytes.
func rawDatagram(_ bytes: [UInt8]) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeBytes(bytes)
    return b
}

/// `count` bytes of a pattern that differs at every offset.
func patternBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    var x = seed &* 0x9e37_79b9_7f4a_7c15 | 1
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
}

/// A kernel dump header for `length` bytes of payload.
func testHeader(length: UInt64, keySize: UInt32 = 0, compression: KernelDumpHeader.Compression = .none,
                version: UInt32 = 4) -> [UInt8] {
    KernelDumpHeader(architecture: "amd64", architectureVersion: 2, dumpLength: length, dumpTime: 1_700_000_000,
                     dumpKeySize: keySize, blockSize: 4096, hostname: "crashbox.example.org",
                     versionString: "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n",
                     panicString: "page fault while in kernel mode", compression: compression, version: version).encoded()
}
