/// One level of a walk, as `vmcore translate` prints it.
public struct TranslationStep: Sendable, Codable, Equatable {
    public var level: String
    /// Where the table is: a physical address, or where an entry array is kept.
    public var tableAddress: UInt64
    public var index: Int
    public var entry: UInt64
    public var flags: [String]

    public init(level: String, tableAddress: UInt64, index: Int, entry: UInt64, flags: [String]) {
        self.level = level
        self.tableAddress = tableAddress
        self.index = index
        self.entry = entry
        self.flags = flags
    }
}

/// The result of translating one virtual address.
public struct Translation: Sendable, Equatable {
    public var virtual: UInt64
    public var physical: UInt64
    /// The size of the page that maps it (4 KiB, 2 MiB, 1 GiB on x86-64).
    public var pageSize: UInt64
    /// Each level walked; empty for a linear map.
    public var steps: [TranslationStep]

    public init(virtual: UInt64, physical: UInt64, pageSize: UInt64, steps: [TranslationStep]) {
        self.virtual = virtual
        self.physical = physical
        self.pageSize = pageSize
        self.steps = steps
    }
}
