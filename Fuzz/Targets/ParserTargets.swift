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
            // The input's tail is physical memory from address 0: every table it names lies in it, or
            // the walk says the address is not there.
            let memory = FlatPhysicalMemory(Array(input[(1 + 8 * 9)...]))
            let walker = PageTableWalker(reader: memory, form: form, root: root)
            for i in 0..<8 {
                let va = (try? header.u64(9 + 8 * i, "address")) ?? 0
                do throws(TranslationError) {
                    _ = try walker.translate(va, detailed: i % 2 == 0)
                } catch {
                    outcome.errors.append("walk: \(error)")
                }
            }
            // The whole space enumerated, as the searches for module memory do.
            _ = walker.mappings(in: 0...UInt64.max, limit: 256, maxEntries: 1 << 14)
            return outcome
        },
        FuzzTarget(name: "kallsyms", summary: "kallsyms tables: _stext, flags, symbol count, token index, then token table, names and addresses",
                   seeds: Seeds.kallsyms) { input in
            var outcome = FuzzTarget.Outcome()
            // The same bytes searched for tables by their structure, as for kernels without the keys.
            if let found = KallsymsFinder.find(in: input, littleEndian: true, longNames: input.first.map { $0 & 1 == 1 } ?? false) {
                outcome.errors.append("found tables with \(found.count) symbols")
            }
            guard let (tables, stext) = KallsymsInput.decode(input) else { return outcome }
            switch tables.decode(stext: stext, source: "fuzz") {
            case .success(let k):
                for s in k.symbols.prefix(64) { _ = k.symbolize(s.address &+ 1) }
                _ = k.symbol(named: "_stext")
            case .failure(let e):
                outcome.errors.append("kallsyms: \(e)")
            }
            return outcome
        },
        FuzzTarget(name: "btf", summary: "a BTF blob: header, type records, strings; every type described, laid out and decoded",
                   seeds: Seeds.btf) { input in
            var outcome = FuzzTarget.Outcome()
            let btf: BTF
            do { btf = try BTF(input) } catch {
                outcome.errors.append("btf: \(error)")
                return outcome
            }
            let memory = Array(input.prefix(512))
            for id in UInt32(0)..<min(btf.endID, 2048) {
                _ = (btf.describe(id), btf.size(of: id), btf.resolved(id))
                guard let t = btf.type(id) else { continue }
                if t.kind == .struct || t.kind == .union {
                    _ = btf.layoutText(id)
                    _ = btf.definitionText(id)
                    for m in t.members.prefix(8) { _ = btf.member(m.name.isEmpty ? "x" : "\(m.name)[1].\(m.name)", in: id) }
                }
                if id < 256 { _ = btf.value(id, in: memory).text(name: "v", symbolize: { _ in nil }) }
            }
            _ = (btf.lookup("struct task_struct *"), btf.enumerator("TASK_RUNNING"), btf.variable("runqueues"))
            // The same bytes as a module's split BTF on top of themselves.
            if let split = try? BTF(input, base: btf) { _ = split.lookup("list_head").map { split.layoutText($0) } }
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
}

/// How the kallsyms target lays out its input: `_stext` (8 bytes), an encoding byte, a
/// long-names byte, the symbol count (2 bytes), the 256 token-index entries, then three
/// sections each with a 4-byte length: token table, names, addresses (8-byte words for the
/// absolute encoding, else 4-byte offsets; relative base and offsets address come from `_stext`).
public enum KallsymsInput {
    public static func encode(_ t: KallsymsTables, stext: UInt64, encoding: Kallsyms.AddressEncoding) -> [UInt8] {
        var w = ByteWriter(order: .little)
        func end() -> Int { w.bytes.count }
        w.u64(stext, at: end())
        w.raw([UInt8(["absolute", "base-relative", "absolute-percpu", "place-relative"].firstIndex(of: encoding.rawValue) ?? 0)], at: end())
        w.raw([t.longNames ? 1 : 0], at: end())
        w.u16(UInt16(truncatingIfNeeded: t.numSyms), at: end())
        for v in t.tokenIndex { w.u16(v, at: end()) }
        for section in [t.tokenTable, t.names] {
            w.u32(UInt32(section.count), at: end())
            w.raw(section, at: end())
        }
        if let a = t.addresses {
            w.u32(UInt32(a.count * 8), at: end())
            for v in a { w.u64(v, at: end()) }
        } else {
            let o = t.offsets ?? []
            w.u32(UInt32(o.count * 4), at: end())
            for v in o { w.u32(UInt32(bitPattern: v), at: end()) }
        }
        return w.bytes
    }

    public static func decode(_ input: [UInt8]) -> (KallsymsTables, UInt64)? {
        let r = ByteReader(input, file: fuzzInputName, base: 0, order: .little)
        guard let stext = try? r.u64(0, "stext"), let mode = try? r.u8(8, "encoding"), let long = try? r.u8(9, "long"),
              let count = try? r.u16(10, "count") else { return nil }
        var index: [UInt16] = []
        for i in 0..<256 { guard let v = try? r.u16(12 + 2 * i, "index") else { return nil }; index.append(v) }
        var at = 12 + 512
        var sections: [[UInt8]] = []
        for _ in 0..<3 {
            guard let n = try? r.u32(at, "length"), at + 4 + Int(min(n, 1 << 24)) <= input.count else { return nil }
            sections.append(Array(input[at + 4..<at + 4 + Int(n)]))
            at += 4 + Int(n)
        }
        var t = KallsymsTables(numSyms: UInt32(count), names: sections[1], tokenTable: sections[0], tokenIndex: index, longNames: long & 1 == 1)
        let words = ByteReader(sections[2], file: fuzzInputName, base: 0, order: .little)
        switch mode % 4 {
        case 0:
            t.addresses = (0..<sections[2].count / 8).compactMap { try? words.u64($0 * 8, "address") }
        default:
            t.offsets = (0..<sections[2].count / 4).compactMap { (try? words.u32($0 * 4, "offset")).map { Int32(bitPattern: $0) } }
            if mode % 4 == 3 { t.offsetsAddress = stext &+ 0x30_0000 } else { t.relativeBase = stext }
        }
        return (t, stext)
    }
}
