/// One level of a page-table hierarchy: its name and which bits of the virtual address index it.
public struct PagingLevel: Sendable, Equatable {
    /// The kernel's name for the level ("pgd", "p4d", "pud", "pmd", "pte").
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

/// What one page-table entry says, decoded by the architecture.
public enum PageTableEntry: Sendable, Equatable {
    /// Not present: translation stops here.
    case notPresent
    /// Points at the next level's table.
    case table(UInt64)
    /// Maps a page (or a large page) starting at this physical address.
    case page(UInt64)
}

/// Everything a page-table walk needs to know about an architecture: the levels, from the root
/// down, and one step function that decodes an entry at a level (libkdumpfile
/// `src/addrxlat/x86_64.c` keeps the same split). The generic walker never sees more.
public protocol PagingArchitecture: Sendable {
    /// The name of the scheme, for messages ("x86-64 4-level").
    var name: String { get }
    var levels: [PagingLevel] { get }
    /// Bytes per entry.
    var entrySize: Int { get }
    /// Virtual addresses must be canonical for this many bits (sign-extended above).
    var virtualBits: Int { get }
    /// True when addresses are sign-extended above `virtualBits` (x86-64); false when they
    /// must simply fit (i386).
    var signExtended: Bool { get }
    /// Decodes `entry` found at level `level` (0 = root).
    func decode(_ entry: UInt64, level: Int) -> PageTableEntry
    /// Flag names set in `entry`, for `vmcore translate`.
    func flags(_ entry: UInt64, level: Int) -> [String]
}

extension PagingArchitecture {
    public var signExtended: Bool { true }
}
