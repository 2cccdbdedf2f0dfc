/// One level of a page-table hierarchy: its name and which bits of the virtual address index it.
public struct PagingLevel: Sendable, Equatable {
    /// The kernel's name for the level ("pgd", "p4d", "pud", "pmd", "pte"; "l0"…"l3").
    public var name: String
    /// The lowest virtual-address bit this level's index covers.
    public var shift: Int
    /// How many index bits (9 on x86-64).
    public var bits: Int

    public init(name: String, shift: Int, bits: Int) {
        self.name = name
        self.shift = shift
        self.bits = bits
    }

    /// The index of `address` in a table of this level.
    public func index(_ address: UInt64) -> Int { Int((address >> UInt64(shift)) & ((1 << UInt64(bits)) - 1)) }
    /// The bytes one entry of this level maps.
    public var span: UInt64 { 1 << UInt64(shift) }
}

/// What one page-table entry says, decoded by the paging form.
public enum PageTableEntry: Sendable, Equatable {
    /// Not present: translation stops here.
    case notPresent
    /// Points at the next level's table.
    case table(UInt64)
    /// Maps a page (or a large page, or a block) starting at this physical address.
    case page(UInt64)
}

/// Everything a page-table walk needs to know about one paging scheme: the levels from the root
/// down, the entry size, the width of virtual addresses, and one step function that decodes an
/// entry at a level (libkdumpfile `src/addrxlat` keeps the same split). The generic walker
/// never sees more. Each architecture's forms live in `Architectures/<Arch>.swift`.
public protocol PagingForm: Sendable {
    /// The name of the scheme, for messages ("x86-64 4-level").
    var name: String { get }
    var levels: [PagingLevel] { get }
    /// Bytes per entry.
    var entrySize: Int { get }
    /// Virtual addresses must be canonical for this many bits (sign-extended above).
    var virtualBits: Int { get }
    /// True when addresses are sign-extended above `virtualBits` (x86-64, aarch64's TTBR1
    /// half); false when they must simply fit (i386).
    var signExtended: Bool { get }
    /// Decodes `entry` found at level `level` (0 = root).
    func decode(_ entry: UInt64, level: Int) -> PageTableEntry
    /// True when `va` is an address of this form (default: sign-extended above
    /// `virtualBits`, or fitting in them).
    func isCanonical(_ va: UInt64) -> Bool
    /// What `isCanonical` requires, for the error when an address fails it.
    var canonicalRule: String { get }
    /// Flag names set in `entry`, for `vmcore translate`.
    func flags(_ entry: UInt64, level: Int) -> [String]
    /// What to say when an entry at `level` maps nothing ("PMD not present").
    func notPresentMessage(level: Int) -> String
}

extension PagingForm {
    public var signExtended: Bool { true }

    public func notPresentMessage(level: Int) -> String { "\(levels[level].name.uppercased()) not present" }

    /// The smallest page the form maps: what one entry of the last level spans.
    public var pageSize: UInt64 { levels[levels.count - 1].span }

    /// The bytes of one table at `level`.
    public func tableSize(_ level: Int) -> Int { (1 << levels[level].bits) * entrySize }

    /// The larger page sizes the upper levels can map, smallest first.
    public var largePageSizes: [UInt64] { levels.dropLast().map(\.span).sorted() }

    public var canonicalRule: String {
        signExtended ? "bits \(virtualBits - 1)-63 must all be equal for \(name) paging" : "\(name) addresses have \(virtualBits) bits"
    }

    /// True when `va` is an address of this form: sign-extended above `virtualBits`, or
    /// fitting in them.
    public func isCanonical(_ va: UInt64) -> Bool {
        let bits = UInt64(virtualBits)
        guard bits < 64 else { return true }
        guard signExtended else { return va >> bits == 0 }
        let top = va >> (bits - 1)
        return top == 0 || top == (UInt64.max >> (bits - 1))
    }

    /// Bits [from, through] of `v`, in place (the rest cleared).
    @inlinable
    public static func bits(_ v: UInt64, _ from: Int, through: Int) -> UInt64 {
        let width = through - from + 1
        let mask: UInt64 = width >= 64 ? .max : ((1 << UInt64(width)) - 1) << UInt64(from)
        return v & mask
    }

    /// Names of the bits of `entry` set among `names` (bit number, name), in the order given.
    public static func flagNames(_ entry: UInt64, _ names: [(Int, String)]) -> [String] {
        names.filter { entry >> UInt64($0.0) & 1 != 0 }.map(\.1)
    }
}
