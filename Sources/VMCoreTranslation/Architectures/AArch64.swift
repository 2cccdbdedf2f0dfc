/// aarch64 (arm64): its paging forms and its saved registers.
public enum AArch64 {
    /// `struct user_pt_regs` (`arch/arm64/include/uapi/asm/ptrace.h`): x0–x30, sp, pc, pstate;
    /// gdb's `org.gnu.gdb.aarch64.core` numbers them the same way, with a 32-bit cpsr.
    public static let registers = RegisterFile.lp64(
        slots: (0...30).map { "x\($0)" } + ["sp", "pc", "pstate"],
        gdbOrder: ((0...30).map { "x\($0)" } + ["sp", "pc"]).map { .init($0, bits: 64) } + [.init("pstate", bits: 32)],
        pc: "pc", sp: "sp")
}

/// aarch64 stage-1 translation (ARM ARM D8): a granule of 4, 16 or 64 KiB, each table one
/// granule of 8-byte descriptors, and as many levels as the virtual-address width needs,
/// counted up from level 3 (the page level). Levels are named `l0`…`l3` by their architectural
/// number.
///
/// Descriptors: bit 0 valid; at levels above 3, bits [1:0] = 0b11 is a table and 0b01 a
/// block; at level 3, 0b11 is a page. The output address is bits [outputAddressBits−1 :
/// granule shift]; above it sit the upper attributes (DBM, contiguous, PXN, UXN and the
/// bits software may use).
public struct AArch64Paging: PagingForm {
    /// The translation granule in bytes: 4096, 16384 or 65536.
    public let granule: UInt64
    public let virtualBits: Int
    /// Descriptor bits below this one (and from the granule shift up) are output address.
    public let outputAddressBits: Int
    /// Names of the bits software may use (55–58), which each kernel names its own way.
    public let softwareBits: [(Int, String)]

    public let levels: [PagingLevel]

    public init(granule: UInt64, virtualBits: Int, outputAddressBits: Int = 48, softwareBits: [(Int, String)] = []) {
        self.granule = granule
        self.virtualBits = virtualBits
        self.outputAddressBits = outputAddressBits
        self.softwareBits = softwareBits
        levels = Self.levels(granuleShift: granule.trailingZeroBitCount, virtualBits: virtualBits)
    }

    public var name: String { "aarch64 \(granule / 1024) KiB granule, \(virtualBits)-bit VA" }
    public var entrySize: Int { 8 }

    var granuleShift: Int { granule.trailingZeroBitCount }

    /// Levels counted up from 3 until they cover `virtualBits`.
    static func levels(granuleShift: Int, virtualBits: Int) -> [PagingLevel] {
        let perLevel = granuleShift - 3
        var out: [PagingLevel] = []
        var shift = granuleShift
        var number = 3
        while shift < virtualBits {
            out.insert(PagingLevel(name: "l\(number)", shift: shift, bits: min(perLevel, virtualBits - shift)), at: 0)
            shift += perLevel
            number -= 1
        }
        return out
    }

    var outputMask: UInt64 {
        let top: UInt64 = outputAddressBits >= 64 ? .max : (1 << UInt64(outputAddressBits)) - 1
        return top & ~(granule - 1)
    }

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & 1 != 0 else { return .notPresent }
        let last = levels.count - 1
        let isTableOrPage = entry & 2 != 0
        if level == last { return isTableOrPage ? .page(entry & outputMask) : .notPresent }
        if isTableOrPage { return .table(entry & outputMask) }
        return .page(entry & outputMask & ~(levels[level].span - 1))
    }

    public func notPresentMessage(level: Int) -> String {
        level == levels.count - 1 ? "\(levels[level].name.uppercased()) entry is not a page" : "\(levels[level].name.uppercased()) entry is not valid"
    }

    static let hardwareBits: [(Int, String)] = [(6, "USER"), (7, "RO"), (10, "AF"), (11, "nG"), (51, "DBM"), (52, "CONT"), (53, "PXN"), (54, "UXN")]

    public func flags(_ entry: UInt64, level: Int) -> [String] {
        var out: [String] = []
        if entry & 3 == 3 { out.append(level == levels.count - 1 ? "PAGE" : "TABLE") } else if entry & 1 != 0 { out.append(level == levels.count - 1 ? "V" : "BLOCK") }
        return out + Self.flagNames(entry, Self.hardwareBits + softwareBits)
    }
}
