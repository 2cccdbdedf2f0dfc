/// aarch64 (arm64): its paging forms and its saved registers.
public enum AArch64 {
    /// `struct user_pt_regs` (`arch/arm64/include/uapi/asm/ptrace.h`): x0–x30, sp, pc, pstate;
    /// gdb's `org.gnu.gdb.aarch64.core` numbers them the same way, with a 32-bit cpsr.
    public static let registers = RegisterFile.lp64(
        slots: (0...30).map { "x\($0)" } + ["sp", "pc", "pstate"],
        gdbOrder: ((0...30).map { "x\($0)" } + ["sp", "pc"]).map { .init($0, bits: 64) } + [.init("pstate", bits: 32)],
        pc: "pc", sp: "sp")

    /// The TTBR1 (kernel-half) walk a Linux kernel runs with (linux-analysis.md C4; drgn's and
    /// libkdumpfile's choice):
    /// - 64 KiB pages walk with the configured `VA_BITS` (a 52-bit kernel on hardware without
    ///   LVA keeps its 52-bit table and offsets TTBR1), and their descriptors carry PA[51:48]
    ///   in bits [15:12] (LPA; those bits are zero without it);
    /// - 4 and 16 KiB pages walk with the running width, `64 − TCR_EL1_T1SZ` (a 52-bit kernel
    ///   on hardware without LPA2 folds a level at boot), and only at 52 bits do their
    ///   descriptors take the LPA2 form.
    /// `runningBits` is nil when the dump does not say (kernels before 5.9).
    public static func linuxKernelPaging(pageSize: UInt64, configuredBits: Int, runningBits: Int?) -> AArch64Paging? {
        guard [4096, 16384, 65536].contains(pageSize), (36...52).contains(configuredBits) else { return nil }
        if pageSize == 65536 {
            return AArch64Paging(granule: pageSize, virtualBits: configuredBits, descriptors: configuredBits > 48 ? .lpa : .base)
        }
        let bits = runningBits.flatMap { (36...52).contains($0) ? $0 : nil } ?? configuredBits
        return AArch64Paging(granule: pageSize, virtualBits: bits, descriptors: bits > 48 ? .lpa2 : .base)
    }
}

/// aarch64 stage-1 translation (ARM ARM D8): a granule of 4, 16 or 64 KiB, each table one
/// granule of 8-byte descriptors, and as many levels as the virtual-address width needs,
/// counted up from level 3 (the page level). Levels are named `l0`…`l3` by their architectural
/// number; 52-bit VA with 4 KiB pages adds level −1 (`l-1`).
///
/// Descriptors: bit 0 valid; at levels above 3, bits [1:0] = 0b11 is a table and 0b01 a
/// block; at level 3, 0b11 is a page. Above the output address sit the upper attributes
/// (DBM 51, contiguous 52, PXN 53, UXN 54, and the bits software may use, 55–58). Where the
/// output address sits depends on the descriptor format (`Descriptors`).
///
/// A contiguous-hint entry is one of 16 (or 32, or 128) neighbours that map neighbouring
/// pages; each still holds its own output address, so a walk reads it like any other and
/// shows the hint as `CONT`.
public struct AArch64Paging: PagingForm {
    /// Where a descriptor keeps the output address.
    public enum Descriptors: String, Sendable {
        /// Bits [outputAddressBits−1 : granule shift] (up to 48 bits of PA).
        case base
        /// FEAT_LPA with 64 KiB pages: bits [47:16], and PA[51:48] in bits [15:12].
        case lpa
        /// FEAT_LPA2 with 4 or 16 KiB pages and 52-bit VA: bits [49 : granule shift], and
        /// PA[51:50] in bits [9:8] (where shareability sits otherwise).
        case lpa2
    }

    /// The translation granule in bytes: 4096, 16384 or 65536.
    public let granule: UInt64
    public let virtualBits: Int
    /// With `Descriptors.base`, descriptor bits below this one (and from the granule shift up)
    /// are output address.
    public let outputAddressBits: Int
    public let descriptors: Descriptors
    /// Names of the bits software may use (55–58), which each kernel names its own way.
    public let softwareBits: [(Int, String)]

    public let levels: [PagingLevel]

    public init(granule: UInt64, virtualBits: Int, outputAddressBits: Int = 48, descriptors: Descriptors = .base,
                softwareBits: [(Int, String)] = []) {
        self.granule = granule
        self.virtualBits = virtualBits
        self.outputAddressBits = outputAddressBits
        self.descriptors = descriptors
        self.softwareBits = softwareBits
        levels = Self.levels(granuleShift: granule.trailingZeroBitCount, virtualBits: virtualBits)
    }

    public var name: String {
        "aarch64 \(granule / 1024) KiB granule, \(virtualBits)-bit VA" + (descriptors == .base ? "" : ", \(descriptors.rawValue.uppercased())")
    }
    public var entrySize: Int { 8 }

    /// An address of one of the two halves: bits `virtualBits`–63 all set (TTBR1, the kernel)
    /// or all clear (TTBR0). Unlike x86-64, bit `virtualBits − 1` is free: with 48-bit VA,
    /// 0xffff0000_00000000 is the kernel half's first address.
    public func isCanonical(_ va: UInt64) -> Bool {
        guard virtualBits < 64 else { return true }
        let top = va >> UInt64(virtualBits)
        return top == 0 || top == UInt64.max >> UInt64(virtualBits)
    }

    public var canonicalRule: String {
        "bits \(virtualBits)-63 must be all set (kernel half) or all clear for \(name) paging"
    }

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

    /// The output address a descriptor holds, granule-aligned.
    @inlinable
    public func outputAddress(_ entry: UInt64) -> UInt64 {
        let low = ~(granule - 1)
        switch descriptors {
        case .base:
            let top: UInt64 = outputAddressBits >= 64 ? .max : (1 << UInt64(outputAddressBits)) - 1
            return entry & top & low
        case .lpa:
            return (entry & 0x0000_ffff_ffff_ffff & low) | (entry >> 12 & 0xf) << 48
        case .lpa2:
            return (entry & 0x0003_ffff_ffff_ffff & low) | (entry >> 8 & 0x3) << 50
        }
    }

    public func decode(_ entry: UInt64, level: Int) -> PageTableEntry {
        guard entry & 1 != 0 else { return .notPresent }
        let last = levels.count - 1
        let isTableOrPage = entry & 2 != 0
        let address = outputAddress(entry)
        if level == last { return isTableOrPage ? .page(address) : .notPresent }
        if isTableOrPage { return .table(address) }
        return .page(address & ~(levels[level].span - 1))
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
