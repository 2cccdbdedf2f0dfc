import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// A small kernel-like type graph: list_head, an anonymous union, bitfields, a function
/// pointer, a char array, enums, per-CPU variables.
struct SampleBTF {
    var b = BTFBuilder()
    let int, ulong, char, listHead, task, callback, state, big: UInt32

    init(littleEndian: Bool = true) {
        b.littleEndian = littleEndian
        int = b.int("int", size: 4, signed: true)
        ulong = b.int("long unsigned int", size: 8)
        char = b.int("char", size: 1, signed: true, char: true)
        let unsigned = b.int("unsigned int", size: 4)
        // struct list_head { struct list_head *next, *prev; } — the pointer names the next ID.
        let listPointer = b.pointer(to: b.endID + 1)
        listHead = b.structure("list_head", size: 16, members: [("next", listPointer, 0, 0), ("prev", listPointer, 64, 0)])
        let index = b.int("__ARRAY_SIZE_TYPE__", size: 4)
        let comm = b.array(of: char, count: 16, index: index)
        let pid = b.typedef("pid_t", int)
        let constChar = b.const(char)
        let name = b.pointer(to: constChar)
        // void (*func)(struct callback_head *)
        let cbPointer = b.pointer(to: b.endID + 3)
        let proto = b.functionPrototype(returning: 0, parameters: [("head", cbPointer)])
        let funcPointer = b.pointer(to: proto)
        callback = b.structure("callback_head", size: 16, members: [("next", cbPointer, 0, 0), ("func", funcPointer, 64, 0)])
        state = b.enumeration("task_state", size: 4, signed: true, values: [("TASK_DEAD", -1), ("TASK_RUNNING", 0), ("TASK_STOPPED", 4)])
        big = b.enumeration64("big_flags", values: [("BIG_HIGH", 1 << 40)])
        // struct thread { unsigned long sp; unsigned long pc; }
        let thread = b.structure("thread", size: 16, members: [("sp", ulong, 0, 0), ("pc", ulong, 64, 0)])
        // union { int a; unsigned long b; } (anonymous)
        let anonymous = b.structure("", size: 8, union: true, members: [("a_int", int, 0, 0), ("b_long", ulong, 0, 0)])
        task = b.structure("task", size: 96, members: [
            ("tasks", listHead, 0, 0), ("pid", pid, 128, 0), ("state", state, 160, 0),
            ("flag_a", unsigned, 192, 1), ("flag_b", unsigned, 193, 3), ("small", int, 196, 5),
            ("", anonymous, 256, 0), ("comm", comm, 320, 0), ("thread", thread, 448, 0), ("name", name, 576, 0),
            ("rcu", callback, 640, 0),
        ])
        _ = b.volatile(task)
        _ = b.forward("task")
        _ = b.float("double", size: 8)
        _ = b.typeTag("user", ulong)
        let fn = b.function("do_exit", prototype: b.functionPrototype(returning: 0, parameters: [("code", int)]))
        _ = b.declTag("noinline", fn, component: -1)
        let v = b.variable("runqueues", task)
        _ = b.dataSection(".data..percpu", size: 4096, variables: [(v, 0x40, 96)])
    }

    func parsed() throws -> BTF { try BTF(b.bytes) }
}

@Suite("BTF decoding")
struct BTFTests {
    @Test("every kind parses; types are found by C name, forward declarations losing to definitions")
    func kinds() throws {
        let s = SampleBTF()
        let btf = try s.parsed()
        #expect(btf.count == Int(s.b.endID - 1))
        #expect(btf.lookup("struct task") == s.task)
        #expect(btf.lookup("task") == s.task)
        #expect(btf.lookup("struct list_head *") == btf.type(s.listHead)!.members[0].type)
        #expect(btf.lookup("unsigned long") == s.ulong)
        #expect(btf.lookup("pid_t").flatMap { btf.resolved($0) } == s.int)
        #expect(btf.lookup("struct nothing") == nil)
        let kinds = Set(btf.summaries().map(\.kind))
        #expect(kinds == Set(BTF.Kind.allCases).subtracting([.void, .restrict]))
        #expect(btf.enumerator("TASK_DEAD")! == (-1, s.state))
        #expect(btf.enumerator("BIG_HIGH")?.value == 1 << 40)
        #expect(btf.variable("runqueues")! == (s.task, ".data..percpu", 0x40))
    }

    @Test("C declarations as gdb writes them")
    func declarations() throws {
        let s = SampleBTF()
        let btf = try s.parsed()
        let task = btf.type(s.task)!
        let decls = task.members.map { btf.declaration($0.type, $0.name) }
        #expect(decls == ["struct list_head tasks", "pid_t pid", "enum task_state state", "unsigned int flag_a", "unsigned int flag_b", "int small",
                          "union {...}", "char comm[16]", "struct thread thread", "const char *name", "struct callback_head rcu"])
        let cb = btf.type(s.callback)!
        #expect(btf.declaration(cb.members[1].type, "func") == "void (*func)(struct callback_head *)")
        #expect(btf.describe(s.ulong) == "unsigned long")
        #expect(btf.describe(btf.lookup("do_exit")!) == "void do_exit(int)")
    }

    @Test("members by path, through anonymous unions, arrays and nested structs; sizes")
    func paths() throws {
        let s = SampleBTF()
        let btf = try s.parsed()
        #expect(try btf.member("thread.pc", in: s.task).get() == BTFMemberLocation(bitOffset: 512, type: s.ulong, bitfieldSize: 0))
        #expect(try btf.member("b_long", in: s.task).get().byteOffset == 32)
        #expect(try btf.member("comm[3]", in: s.task).get().byteOffset == 43)
        #expect(try btf.member("tasks.prev", in: s.task).get().byteOffset == 8)
        #expect(try btf.member("flag_b", in: s.task).get() == BTFMemberLocation(bitOffset: 193, type: btf.lookup("unsigned int")!, bitfieldSize: 3))
        #expect(btf.size(of: s.task) == 96)
        #expect(btf.size(of: btf.lookup("struct list_head *")!) == 8)
        #expect(btf.size(of: btf.type(s.task)!.members[7].type) == 16)
        #expect(throws: BTFError.self) { try btf.member("thread.nothing", in: s.task).get() }
        #expect(throws: BTFError.self) { try btf.member("pid.x", in: s.task).get() }
        #expect(throws: BTFError.self) { try btf.member("comm[16]", in: s.task).get() }
        #expect(String(describing: btf.member("pid.x", in: s.task)).contains("pid_t, not a struct or union"))
    }

    @Test("an object decoded: bitfields, signed enums, strings, pointers, nested members", arguments: [true, false])
    func values(littleEndian: Bool) throws {
        let s = SampleBTF(littleEndian: littleEndian)
        let btf = try s.parsed()
        var bytes = [UInt8](repeating: 0, count: 96)
        func put(_ v: UInt64, at: Int, size: Int) {
            for k in 0..<size { bytes[at + (littleEndian ? k : size - 1 - k)] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        }
        put(0xffff_0000_1234_5678, at: 0, size: 8)
        put(4242, at: 16, size: 4)
        put(UInt64(UInt32(bitPattern: -1)), at: 20, size: 4)
        // flag_a = 1 (bit 192), flag_b = 5 (bits 193-195), small = -3 (bits 196-200) — little-endian bit order.
        if littleEndian { put(1 | 5 << 1 | UInt64(0x1d) << 4, at: 24, size: 4) }
        bytes.replaceSubrange(40..<45, with: Array("init\0".utf8))
        put(0xffff_8000_0000_1000, at: 56, size: 8)
        guard case .members(let ms) = btf.value(s.task, in: bytes) else { Issue.record("not members"); return }
        let byName = Dictionary(ms.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["pid"].map(String.init(describing:)) == "signed(4242)")
        #expect(byName["state"].map(String.init(describing:)) == "enumerator(-1, name: Optional(\"TASK_DEAD\"))")
        #expect(byName["comm"].map(String.init(describing:)) == "string(\"init\")")
        if littleEndian {
            #expect(byName["flag_a"].map(String.init(describing:)) == "unsigned(1)")
            #expect(byName["flag_b"].map(String.init(describing:)) == "unsigned(5)")
            #expect(byName["small"].map(String.init(describing:)) == "signed(-3)")
        }
        let text = btf.value(s.task, in: bytes).text(name: "", symbolize: { $0 == 0xffff_8000_0000_1000 ? "thread_sp+0x0" : nil })
        #expect(text.contains("\n  tasks = {\n    next = 0xffff000012345678\n"))
        #expect(text.contains("\n    sp = 18446603336221200384 (0xffff800000001000)\n"))
        #expect(text.contains("\n  comm = \"init\"\n"))
        // Too few bytes: the members past the end say so, nothing traps.
        guard case .members(let cut) = btf.value(s.task, in: Array(bytes.prefix(20))) else { Issue.record("not members"); return }
        #expect(String(describing: cut[2].value).contains("not in the 20 bytes read"))
    }

    @Test("ptype /o layout: columns, bitfields, holes, nested structs and anonymous unions")
    func layout() throws {
        let s = SampleBTF()
        let text = try s.parsed().layoutText(s.task).get()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "/* offset      |    size */  type = struct task {")
        #expect(lines[1] == "/*      0      |      16 */    struct list_head {")
        #expect(lines[2] == "/*      0      |       8 */        struct list_head *next;")
        #expect(lines.contains("/*     24: 0   |       4 */    unsigned int flag_a : 1;"))
        #expect(lines.contains("/*     24: 4   |       4 */    int small : 5;"))
        #expect(lines.contains("/* XXX  7-bit hole       */"))
        #expect(lines.contains("/*                     8 */        unsigned long b_long;"))
        #expect(lines.contains("/*     80      |      16 */    struct callback_head {"))
        #expect(lines.contains("/*     88      |       8 */        void (*func)(struct callback_head *);"))
        #expect(lines.suffix(3) == ["                               /* total size (bytes):   96 */", "                             }", ""])
    }

    @Test("split BTF continues its base's IDs and strings")
    func split() throws {
        let s = SampleBTF()
        let base = try s.parsed()
        var m = BTFBuilder(splitOnBaseEndingAt: base.endID, baseStringLength: s.b.stringLength)
        let p = m.pointer(to: s.listHead)
        let mod = m.structure("pvpanic_instance", size: 24, members: [("list", s.listHead, 0, 0), ("base", p, 128, 0)])
        let split = try BTF(m.bytes, base: base)
        #expect(split.firstID == base.endID)
        #expect(split.lookup("struct pvpanic_instance") == mod)
        #expect(split.lookup("struct task") == s.task)
        #expect(split.declaration(split.type(mod)!.members[1].type, "base") == "struct list_head *base")
        #expect(try split.member("list.prev", in: mod).get().byteOffset == 8)
    }

    @Test("damaged blobs give errors that say what is wrong; loops and bad IDs stop")
    func hostile() throws {
        #expect(throws: BTFError.self) { _ = try BTF([0x9f, 0xeb, 1, 0]) }
        var bad = SampleBTF().b.bytes
        bad[0] = 0
        #expect(errorText { _ = try BTF(bad) }?.hasPrefix("magic is 0xeb00") == true)
        var cut = SampleBTF().b.bytes
        cut[15] = 0x7f  // type_len far past the end
        #expect(errorText { _ = try BTF(cut) }?.contains("ends past the blob") == true)
        var kind = BTFBuilder()
        kind.record(25, sizeOrType: 0)
        #expect(errorText { _ = try BTF(kind.bytes) } == "type 1 at offset 0x18: unknown kind 25")
        var long = BTFBuilder()
        long.record(4, name: "s", vlen: 1000, sizeOrType: 8)
        #expect(errorText { _ = try BTF(long.bytes) }?.contains("STRUCT with 1000 entries runs past") == true)
        // typedef a → b → a, a pointer to ID 999, an array of 2^32-1 huge structs.
        var loop = BTFBuilder()
        let a = loop.typedef("a", 2)
        _ = loop.typedef("b", a)
        let p = loop.pointer(to: 999)
        let huge = loop.structure("huge", size: UInt32.max, members: [])
        let arr = loop.array(of: huge, count: UInt32.max, index: huge)
        let btf = try BTF(loop.bytes)
        #expect(btf.resolved(a) == nil)
        #expect(btf.size(of: a) == nil)
        #expect(btf.describe(p) == "<bad type 999> *")
        #expect(btf.size(of: arr) == (UInt64(UInt32.max) * UInt64(UInt32.max)))
        #expect(btf.describe(a).count < 200)
        #expect(throws: BTFError.self) { try btf.member("x", in: a).get() }
    }

    func errorText(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as BTFError { return e.description } catch { return "\(error)" }
        return nil
    }
}

/// Every member line, offset, size, hole and nesting equal. What differs by design: the "XXX
/// padding" lines (gdb measures a union's from where it sits in its parent), and `[0]`
/// arrays, which BTF cannot tell from flexible `[]` ones.
func sameLayout(_ ours: String, _ gdb: String) -> Bool {
    func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("XXX") || $0.contains("hole") }
            .map { $0.replacingOccurrences(of: "[0];", with: "[];") }
    }
    return lines(ours) == lines(gdb)
}

/// gdb's `ptype /o` of the same kernel build, recorded from its DWARF vmlinux by
/// `Scripts/record-ptype.sh`: the types named in the file, split at their "### NAME" lines.
func gdbLayouts(_ url: URL) throws -> [(String, String)] {
    let text = try String(contentsOf: url, encoding: .utf8)
    var out: [(String, String)] = []
    for block in text.components(separatedBy: "### ").dropFirst() {
        let name = String(block.prefix { $0 != "\n" })
        out.append((name, String(block.dropFirst(name.count + 1))))
    }
    return out
}

@Suite("BTF on the committed real samples")
struct BTFFixtureTests {
    static let samples = ["linux-6.1-small/vmcore.kdump-zlib-d31-split", "linux-6.12-arm64-small/vmcore.qemu-elf-window.zst"]

    @Test("ptype /o of the central types equals gdb's on the DWARF vmlinux", arguments: samples)
    func gdbLayout(_ file: String) throws {
        let url = committedFixtures.appendingPathComponent(file)
        let kernel = try LinuxKernel(dump: try Dump.open(url.path))
        let layouts = try gdbLayouts(url.deletingLastPathComponent().appendingPathComponent("reference/gdb-ptype.txt"))
        #expect(layouts.count >= 25)
        for (name, gdb) in layouts {
            let t = try kernel.type("struct \(name)")
            #expect(sameLayout(try t.btf.layoutText(t.id).get(), gdb), "\(file): struct \(name)")
        }
    }

    @Test("VMCOREINFO's OFFSET and SIZE entries agree with BTF", arguments: samples)
    func vmcoreinfoAgrees(_ file: String) throws {
        try checkVMCoreInfoAgainstBTF(committedFixtures.appendingPathComponent(file).path)
    }

    @Test("struct new_utsname init_uts_ns prints the release and version the guest printed")
    func utsname() throws {
        try checkUTSName(committedFixtures.appendingPathComponent(Self.samples[1]))
    }
}

/// `vmcore struct DUMP new_utsname init_uts_ns` and `uts_namespace.name.release` print what
/// the guest printed for `uname -r` and `uname -v`.
/// (`uts_namespace.name` comes after a `struct kref` before 5.11, so `direct` is false there.)
func checkUTSName(_ url: URL, truth: GuestTruth? = nil, direct: Bool = true) throws {
    let truth = try truth ?? GuestTruth(url.deletingLastPathComponent().appendingPathComponent("truth.txt"))
    if direct {
        let r = try vmcore(["struct", url.path, "new_utsname", "init_uts_ns"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.contains("\n  release = \"\(truth.release)\"\n"))
        #expect(r.text.contains("\n  version = \"\(truth.version)\"\n"))
    }
    let json = try vmcore(["struct", url.path, "uts_namespace.name.release", "init_uts_ns", "--json"])
    let object = try JSONSerialization.jsonObject(with: json.stdout) as! [String: Any]
    #expect((object["members"] as? [String: Any])?["name.release"] as? String == truth.release)
}

/// Every `OFFSET(type.member)` and `SIZE(type)` the kernel wrote into VMCOREINFO names a type
/// and member BTF has, at the same offset and size.
func checkVMCoreInfoAgainstBTF(_ path: String) throws {
    let kernel = try LinuxKernel(dump: try Dump.open(path))
    guard let info = kernel.vmcoreinfo?.value else { Issue.record("\(path): no VMCOREINFO"); return }
    let btf = try kernel.btf()
    var checked = 0
    for (key, value) in info.entries {
        guard let open = key.firstIndex(of: "("), key.hasSuffix(")") else { continue }
        let kind = key[..<open], name = String(key[key.index(after: open)..<key.index(before: key.endIndex)])
        guard let number = UInt64(value, radix: 10) else { continue }
        switch kind {
        case "OFFSET":
            let dot = name.firstIndex(of: ".")!
            let type = String(name[..<dot]), member = String(name[name.index(after: dot)...])
            guard let id = btf.lookup(type) else { Issue.record("\(path): \(key): BTF has no type \(type)"); continue }
            #expect((try? btf.member(member, in: id).get())?.byteOffset == number, "\(path): \(key) = \(value)")
            checked += 1
        case "SIZE":
            guard let id = btf.lookup(name) else { Issue.record("\(path): \(key): BTF has no type \(name)"); continue }
            #expect(btf.size(of: id) == number, "\(path): \(key) = \(value)")
            checked += 1
        default: continue
        }
    }
    #expect(checked >= 20, "\(path): only \(checked) entries")
}

@Suite("BTF on the shared dumps", .enabled(if: sharedDumps != nil, "../shared/dumps is absent beside this checkout: skipped"))
struct BTFSharedDumpTests {
    @Test("VMCOREINFO agrees with BTF, and struct prints the guest's uname, on every dump", arguments: [
        "linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31", "linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31",
        "linux-6.1-x86_64-qemu/vmcore.kdump-zlib", "linux-6.1-x86_64-qemu-novmcoreinfo/vmcore.elf.zst",
        "linux-6.12-arm64-qemu/vmcore.elf.zst",
    ])
    func shared(_ file: String) throws {
        let url = sharedDumps!.appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        try checkVMCoreInfoAgainstBTF(url.path)
        try checkUTSName(url)
    }
}
