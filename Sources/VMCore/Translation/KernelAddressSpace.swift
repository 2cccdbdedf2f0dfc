/// Kernel virtual memory, however a dump provides it: a walk of the kernel's page tables
/// (Linux), or the translation table a FreeBSD minidump carries.
public protocol KernelAddressSpace: Sendable {
    var memory: any PhysicalMemory { get }
    func translate(_ va: UInt64) throws(VMCoreError) -> Translation
    /// `count` bytes at kernel virtual address `va`.
    func read(virtual va: UInt64, count: Int) throws(VMCoreError) -> [UInt8]
}

extension PageTableWalker: KernelAddressSpace {}

extension KernelAddressSpace {
    /// Copies `count` bytes at kernel virtual address `va`, page by page.
    public func read(virtual va: UInt64, count: Int) throws(VMCoreError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let at = va &+ UInt64(done)
            let n = min(count - done, 4096 - Int(at & 0xfff))
            let pa = try translate(at).physical
            try memory.read(physical: pa, into: &buffer, bufferOffset: done, count: n)
            done += n
        }
        return buffer
    }
}

extension FreeBSDMinidump {
    public var memory: any PhysicalMemory { self }
}
