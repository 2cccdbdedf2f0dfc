import NIOCore
import VMCore
import VMCoreNet
import VMCoreTestSupport
import VMCoreTranslation

/// Targets for the parsers below and beside the containers: VMCOREINFO, the printk ring,
/// page-table walks over hostile memory, page and stream codecs, and netdump packets.
enum ParserTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "vmcoreinfo", summary: "VMCOREINFO text and every value read from it", dictionary: "vmcoreinfo",
                   seeds: Seeds.vmcoreinfo) { input in
            let info = VMCoreInfo(text: String(decoding: input, as: UTF8.self))
            _ = (info.osRelease, info.buildID, info.pageSize, info.kernelOffset)
            for entry in info.entries.prefix(256) { _ = info[entry.key] }
            return FuzzTarget.Outcome()
        },
        FuzzTarget(name: "printk", summary: "the kernel log: lockless printk rings in a small kdump file", dictionary: "kdump",
                   seeds: Seeds.printk) { input in
            var outcome = FuzzTarget.Outcome()
            let source = MemorySource(name: fuzzInputName, bytes: input)
            if let dump = outcome.step("open", { () throws(VMCoreError) in try Dump(sources: [source]) }),
               let kernel = outcome.step("kernel", { () throws(VMCoreError) in try dump.kernel() }) {
                _ = outcome.step("messages") { () throws(VMCoreError) in try kernel.messages() }
                _ = outcome.step("panic") { () throws(VMCoreError) in try kernel.panicReport() }
            }
            return outcome
        },
        FuzzTarget(name: "pagewalk", summary: "page-table walks of every paging form over hostile memory: form, root, 8 addresses, memory",
                   seeds: Seeds.pagewalk) { input in
            var outcome = FuzzTarget.Outcome()
            guard input.count >= 1 + 8 * 9 else { return outcome }
            let form = PageWalkInput.forms[Int(input[0]) % PageWalkInput.forms.count]
            let header = ByteReader(Array(input[0..<(1 + 8 * 9)]), file: fuzzInputName, base: 0, order: .little)
            let root = (try? header.u64(1, "root")) ?? 0
            let memory = PageWalkInput.Memory(bytes: Array(input[(1 + 8 * 9)...]))
            let walker = PageTableWalker(reader: memory, form: form, root: root)
            for i in 0..<8 {
                let va = (try? header.u64(9 + 8 * i, "address")) ?? 0
                do throws(TranslationError) {
                    _ = try walker.translate(va, detailed: i % 2 == 0)
                } catch {
                    outcome.errors.append("walk: \(error)")
                }
            }
            return outcome
        },
        FuzzTarget(name: "page-codec", summary: "one page through zlib, LZO, snappy or zstd: method byte, then the stored bytes",
                   seeds: Seeds.pageCodec) { input in
            var outcome = FuzzTarget.Outcome()
            guard let method = input.first.map({ PageCompression.allCases[Int($0) % PageCompression.allCases.count] }) else { return outcome }
            var page = [UInt8](repeating: 0, count: 4096)
            if PageDecoder().decompress(method, input[1...], into: &page, expected: 4096) == nil {
                outcome.errors.append("decode: \(method.rawValue) data does not decode")
            }
            return outcome
        },
        FuzzTarget(name: "stream", summary: "gzip and zstd streams (vmcore.N.gz, .zst, compressed dump-device payloads), output capped at 16 MiB",
                   dictionary: "stream", seeds: Seeds.stream) { input in
            var outcome = FuzzTarget.Outcome()
            guard let format = StreamDecoder.Format.detect(input), let decoder = StreamDecoder(format: format) else { return outcome }
            var output = [UInt8](repeating: 0, count: 1 << 16)
            var at = 0, total = 0
            while total < 16 << 20 {
                let step = decoder.decode(input, at..<input.count, into: &output, 0..<output.count)
                at += step.consumed
                total += step.produced
                switch step.status {
                case .failed(let why): outcome.errors.append("decode: \(why)"); return outcome
                case .endOfMember:
                    guard at < input.count else { return outcome }
                    decoder.reset()
                case .more:
                    if step.consumed == 0 && step.produced == 0 { return outcome }
                }
            }
            return outcome
        },
        FuzzTarget(name: "netdump", summary: "netdump datagrams (2-byte length, then the packet) through one server session",
                   dictionary: "netdump", seeds: Seeds.netdump) { input in
            var outcome = FuzzTarget.Outcome()
            var session = NetdumpSession(limits: .init(maxDumpSize: 1 << 30), now: .uptimeNanoseconds(0))
            var at = 0, n: Int64 = 0
            while at + 2 <= input.count {
                let length = Int(input[at]) | Int(input[at + 1]) << 8
                at += 2
                let datagram = Array(input[at..<min(input.count, at + length)])
                at += datagram.count
                n += 1
                do throws(VMCoreNetError) {
                    let message = try NetdumpMessage(datagram: ByteBuffer(bytes: datagram), from: "fuzz")
                    _ = session.receive(message, at: .uptimeNanoseconds(UInt64(n) * 1_000_000))
                } catch {
                    outcome.errors.append("packet: \(error)")
                }
            }
            if let raw = session.header?.raw { _ = ReceivedDumpHeader(raw: raw).compressedSuffix }
            return outcome
        },
    ]
}

/// How the page-walk target reads its input.
enum PageWalkInput {
    /// Every paging form the readers use.
    static let forms: [any PagingForm] = [
        X86_64Paging(), X86_64Paging(fiveLevel: true), X86_64Paging(encryptionMask: 1 << 47, names: .freebsd),
        I386Paging(pae: false), I386Paging(pae: true),
        AArch64Paging(granule: 4096, virtualBits: 48), AArch64Paging(granule: 4096, virtualBits: 39),
        AArch64Paging(granule: 16384, virtualBits: 47), AArch64Paging(granule: 65536, virtualBits: 52, descriptors: .lpa),
        AArch64Paging(granule: 4096, virtualBits: 52, descriptors: .lpa2), AArch64Paging(granule: 16384, virtualBits: 52, descriptors: .lpa2),
        RISCV64Paging(levels: 3), RISCV64Paging(levels: 4), RISCV64Paging(levels: 5),
    ]

    /// The input's tail as physical memory from address 0; every table it names lies in it, or
    /// the walk says the address is not there.
    struct Memory: PhysicalReader {
        let bytes: [UInt8]

        func readPhysical(_ address: UInt64, into buffer: inout [UInt8], count: Int) throws(TranslationError) {
            guard address <= UInt64(bytes.count), UInt64(count) <= UInt64(bytes.count) - address else {
                throw TranslationError("physical address \(hex(address)) is not in memory", "memory is \(bytes.count) bytes")
            }
            buffer.replaceSubrange(0..<count, with: bytes[Int(address)..<Int(address) + count])
        }
    }
}
