import Testing
import VMCore
import VMCoreTestSupport

/// One minidump layout a FreeBSD kernel writes: architecture, version, page size, PAE.
struct MinidumpLayout: Sendable, CustomTestStringConvertible {
    var machine: FreeBSDMinidumpHeader.Machine
    var version: UInt32
    var pageSize: Int = 4096
    var pae = false

    var testDescription: String {
        "\(machine.rawValue) v\(version)" + (machine == .arm64 ? ", \(pageSize / 1024) KiB pages" : "") + (machine == .i386 ? (pae ? ", PAE" : ", non-PAE") : "")
    }

    static let arm64 = [MinidumpLayout(machine: .arm64, version: 1), MinidumpLayout(machine: .arm64, version: 2),
                        MinidumpLayout(machine: .arm64, version: 3), MinidumpLayout(machine: .arm64, version: 3, pageSize: 16384)]
    static let i386 = [MinidumpLayout(machine: .i386, version: 1), MinidumpLayout(machine: .i386, version: 1, pae: true),
                       MinidumpLayout(machine: .i386, version: 2), MinidumpLayout(machine: .i386, version: 2, pae: true)]
    static let riscv = [MinidumpLayout(machine: .riscv, version: 1), MinidumpLayout(machine: .riscv, version: 2)]
    static let all = arm64 + i386 + riscv
}

/// A minidump built with known contents, and where they are.
///
/// * kernel text: a large page (arm64 L2 block, riscv superpage, i386 4 MiB / 2 MiB PAE page) at
///   `textVA`, mapped to `textPA`; its first two pages are dumped, its last one is not;
/// * a single page mapped at `dataVA` to `dataPA`;
/// * a page only the direct map reaches at `directPA` (arm64, riscv), and the page after it,
///   which is not dumped;
/// * an invalid pmap entry at `invalidVA`;
/// * the message buffer, wrapped: its write position is `writePosition`, and `struct msgbuf`
///   lies in a dumped page at `msgbufPA`, its `msg_ptr` pointing at the ring (`ringVA`).
struct MinidumpSample {
    var layout: MinidumpLayout
    var builder: FreeBSDMinidumpBuilder
    var textVA: UInt64 = 0
    var textPA: UInt64 = 0
    var dataVA: UInt64 = 0
    var dataPA: UInt64 = 0
    var directPA: UInt64 = 0
    var invalidVA: UInt64 = 0
    var invalidEntry: UInt64 = 0
    /// A page whose entry also has attribute bits above the address set (arm64 PXN, UXN and
    /// software bits; riscv Svpbmt bits; i386 PAE NX, with the page above 4 GiB); 0 if none.
    var attributeVA: UInt64 = 0
    var attributePA: UInt64 = 0
    var attributeEntry: UInt64 = 0
    var msgbufPA: UInt64 = 0
    var ringVA: UInt64 = 0
    let writePosition = 23
    /// The log as the kernel wrote it, oldest first.
    var log: String

    var pageSize: UInt64 { UInt64(layout.pageSize) }
    var bytes: [UInt8] { builder.build() }

    func page(_ pa: UInt64) -> [UInt8] { patternPage(pa / pageSize, size: layout.pageSize) }

    /// The direct-map address of physical `pa`.
    func direct(_ pa: UInt64) -> UInt64 { builder.directMapBase + (pa - builder.directMapPhysical) }

    init(_ layout: MinidumpLayout) {
        self.layout = layout
        builder = FreeBSDMinidumpBuilder(machine: layout.machine, version: layout.version, pageSize: layout.pageSize, paeMode: layout.pae)
        let ps = UInt64(layout.pageSize)
        let kernbase = builder.kernelBase
        let block = builder.blockSize
        switch layout.machine {
        case .arm64:
            log = Self.log(release: "14.1-RELEASE", machine: "arm64", pc: 0xffff_0000_0049_b27c)
            textVA = kernbase + block
            textPA = 0x4000_0000 + 2 * block
            dataVA = kernbase + 3 * block + 5 * ps
            dataPA = 0x4700_0000
            directPA = 0x4080_0000
            invalidVA = kernbase + 2 * block + 7 * ps
            invalidEntry = builder.pageEntry(0x4090_0000) & ~2  // descriptor 0b01: a block, not an L3 page
            msgbufPA = 0x47ff_c000 + ps - 0x40
            ringVA = direct(0x47f0_0000)
            attributeVA = kernbase + 3 * block + 6 * ps
            attributePA = 0x4710_0000
            attributeEntry = builder.pageEntry(attributePA) | 0x7 << 53
        case .riscv:
            log = Self.log(release: "14.1-RELEASE", machine: "riscv", pc: 0xffff_ffc0_0045_1a2c)
            textVA = kernbase + block
            textPA = 0x8020_0000
            dataVA = kernbase + 3 * block + 5 * ps
            dataPA = 0x8700_0000
            directPA = 0x8080_0000
            invalidVA = kernbase + 2 * block + 7 * ps
            invalidEntry = (0x8090_0000 >> 12) << 10 | 1  // V without R/W/X: a pointer to a table, not a leaf
            msgbufPA = 0x87ff_f000 + ps - 0x40
            ringVA = direct(0x87f0_0000)
            attributeVA = kernbase + 3 * block + 6 * ps
            attributePA = 0x8710_0000
            attributeEntry = builder.pageEntry(attributePA) | 1 << 61  // PBMT NC
        case .i386:
            log = Self.log(release: "13.3-RELEASE", machine: "i386", pc: 0x0106_5a3c)
            textVA = kernbase
            textPA = 0x80_0000
            dataVA = kernbase + 2 * block + 5 * ps
            dataPA = 0x700_0000
            invalidVA = kernbase + 2 * block + 7 * ps
            invalidEntry = 0x710_0000 | 0x62  // PG_RW | PG_A | PG_M without PG_V
            msgbufPA = 0x7ff_f000 + ps - 0x40
            ringVA = kernbase + 0x100_0000
            if layout.pae {
                builder.dumpAvail.append(PhysicalRange(start: 0x1_0000_0000, end: 0x1_0010_0000))
                attributeVA = kernbase + 2 * block + 9 * ps
                attributePA = 0x1_0000_6000
                attributeEntry = builder.pageEntry(attributePA) | 1 << 63  // PG_NX
            }
        case .amd64:
            preconditionFailure("the amd64 samples are in FreeBSDMinidumpTests")
        }
        builder.mapBlock(textVA, to: textPA)
        builder.pages[textPA / ps] = page(textPA)
        builder.pages[textPA / ps + 1] = page(textPA + ps)
        builder.mapPage(dataVA, to: dataPA)
        builder.pages[dataPA / ps] = page(dataPA)
        builder.setPmapEntry(Int((invalidVA - kernbase) / ps), invalidEntry)
        if attributeVA != 0 {
            builder.setPmapEntry(Int((attributeVA - kernbase) / ps), attributeEntry)
            builder.pages[attributePA / ps] = page(attributePA)
        }
        if directPA != 0 { builder.pages[directPA / ps] = page(directPA) }

        let text = Array(log.utf8)
        let n = text.count, cut = n - writePosition
        builder.messageBuffer = Array(text[cut...] + text[..<cut])
        builder.putMessageBufferHeader(atPhysical: msgbufPA, pointer: ringVA, size: UInt32(n), writeSequence: UInt32(3 * n + writePosition))
    }

    static func log(release: String, machine: String, pc: UInt64) -> String {
        "FreeBSD \(release) releng/\(release.prefix(4))-n267679-10e31f0946d8 GENERIC \(machine)\n"
            + "panic: vm_fault_lookup: fault on nofault entry, addr: 0xdeadc000\ncpuid = 1\ntime = 1717171717\n"
            + "KDB: stack backtrace:\n#0 \(hex(pc)) at kdb_backtrace+0x58\n#1 \(hex(pc + 0x1c4)) at vpanic+0x1a0\n"
    }

    /// The pages the sample dumps.
    var dumpedPages: Int { builder.pages.count }
}
