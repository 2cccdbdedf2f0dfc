import Foundation
import Testing
import VMCore
import VMCoreTestSupport

/// A textdump with every member db_textdump.c writes but config.txt: ddb output over several
/// blocks, a message buffer with NULs (dropped, as the kernel drops them) and a panic.
func sampleTextdump() -> TextdumpBuilder {
    var b = TextdumpBuilder()
    var ddb = ""
    for i in 0..<40 { ddb += "db:0:kdb.enter.panic>  show pcpu \(i)\ncpuid        = \(i % 4)\ncurthread    = 0xfffffe00d1a2b3c4: pid 12 tid 100\(i)\n" }
    b.ddbOutput = Array(ddb.utf8)
    var log = "---<<BOOT>>---\nCopyright (c) 1992-2024 The FreeBSD Project.\n"
        + "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64\n"
    for i in 0..<30 { log += "da\(i): <QEMU QEMU HARDDISK 2.5+> Fixed Direct Access SPC-3 SCSI device\n" }
    log += "panic: page fault\ncpuid = 1\ntime = 1717236000\nKDB: stack backtrace:\n"
        + "#0 0xffffffff80b9009d at kdb_backtrace+0x5d\n#1 0xffffffff80b43132 at vpanic+0x132\n#2 0xffffffff80b42ff3 at panic+0x43\n"
        + "Uptime: 1m2s\n"
    b.messageBuffer = [0, 0] + Array(log.utf8) + [0, 0, 0]
    b.panicMessage = "page fault"
    b.version = "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64\n"
    b.header.hostname = "crashbox.example.org"
    return b
}

@Suite("FreeBSD textdumps")
struct TextdumpTests {
    let builder = sampleTextdump()

    @Test("members of textdump.tar.N: names, sizes, times, offsets and data")
    func members() throws {
        let tar = builder.tar()
        let t = try Textdump(source: MemorySource(name: "textdump.tar.0", bytes: tar))
        #expect(t.layout == .archive)
        #expect(t.header == nil)
        #expect(Textdump.probe(MemorySource(name: "t", bytes: tar)) == .archive)
        let expected = builder.members
        #expect(t.members.map(\.name) == ["ddb.txt", "msgbuf.txt", "panic.txt", "version.txt"])
        #expect(t.members.map(\.size) == expected.map { UInt64($0.data.count) })
        #expect(t.members.allSatisfy { $0.modificationTime == builder.time && $0.isRegularFile && $0.mode == 0o600 })
        #expect(t.members.map { $0.userName + ":" + $0.groupName } == Array(repeating: "root:wheel", count: 4))
        // Each header is one block, its data padded to whole blocks.
        var offset: UInt64 = 0
        for (m, e) in zip(t.members, expected) {
            #expect(m.offset == offset)
            #expect(m.dataOffset == offset + 512)
            #expect(try t.contents(of: m.name) == e.data)
            offset += 512 + (UInt64(e.data.count) + 511) / 512 * 512
        }
        #expect(offset == UInt64(tar.count))
        #expect(try t.contents(of: "config.txt") == nil)
        let log = try #require(try t.contents(of: "msgbuf.txt"))
        #expect(!log.contains(0))
        #expect(try t.archive.read(t.members[0], at: 500, count: 30) == Array(builder.ddbOutput![500..<530]))
    }

    @Test("a dump device image: reversed blocks reassemble to the archive, both headers checked")
    func deviceImage() throws {
        let tar = builder.tar()
        let size = 160 * 1024
        let image = MemorySource(name: "ada0p3.img", bytes: builder.deviceImage(mediaSize: size))
        let trailer = UInt64(size - 512)
        let header = try KernelDumpHeader(from: image, at: trailer)
        #expect(header.kind == .textDump)
        #expect(header.architectureVersion == 4)
        #expect(header.dumpLength == UInt64(tar.count))
        #expect(header.dumpExtent == UInt64(tar.count))
        #expect(header.panicString == "page fault")

        let forward = try ReversedBlockSource(base: image, trailerOffset: trailer, length: header.dumpLength)
        #expect(forward.size == UInt64(tar.count))
        #expect(try forward.bytes(at: 0, count: tar.count, what: "all") == tar)
        // Reads that cross block boundaries, where the device order turns around.
        #expect(try forward.bytes(at: 500, count: 1100, what: "span") == Array(tar[500..<1600]))
        #expect(forward.baseOffset(of: 0) == trailer - 512)
        #expect(forward.baseOffset(of: 513) == trailer - 1024 + 1)

        #expect(Textdump.probe(image) == .dumpDevice(trailerOffset: trailer))
        let t = try #require(try Textdump.recognize(image))
        #expect(t.layout == .dumpDevice(trailerOffset: trailer, leadingHeaderOffset: trailer - UInt64(tar.count) - 512))
        #expect(t.header?.hostname == "crashbox.example.org")
        #expect(t.members.map(\.name) == ["ddb.txt", "msgbuf.txt", "panic.txt", "version.txt"])
        for (name, data) in builder.members { #expect(try t.contents(of: name) == data) }
    }

    @Test("facts: version, release, panic with CPU and backtrace, header")
    func facts() throws {
        let size = 160 * 1024
        let t = try #require(try Textdump.recognize(MemorySource(name: "disk.img", bytes: builder.deviceImage(mediaSize: size))))
        let f = t.facts()
        #expect(f.format == "freebsd-textdump")
        #expect(f.kernelRelease == "14.1-RELEASE")
        #expect(f.kernelVersion == "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64")
        #expect(f.panicMessage == "page fault")
        #expect(f.panic?.message == "panic: page fault")
        #expect(f.panic?.cpu == 1)
        #expect(f.panic?.callTrace == ["#0 0xffffffff80b9009d at kdb_backtrace+0x5d", "#1 0xffffffff80b43132 at vpanic+0x132",
                                       "#2 0xffffffff80b42ff3 at panic+0x43"])
        #expect(f.messageBufferLines == 41)
        #expect(f.ddbOutputBytes == UInt64(builder.ddbOutput!.count))
        #expect(f.hostname == "crashbox.example.org")
        #expect(f.header?.dumpTimeUTC == "2024-06-01 10:00:00 UTC")
        #expect(f.members.first?.modificationTimeUTC == "2024-06-01 10:00:00 UTC")
        #expect(f.warnings.isEmpty)

        // No panic.txt and no panic line: no panic.
        var quiet = TextdumpBuilder()
        quiet.messageBuffer = Array("booted\n".utf8)
        quiet.version = "FreeBSD 15.0-CURRENT main-n270000 GENERIC amd64\n    root@build:/usr/obj/sys/GENERIC\n"
        let q = try Textdump(source: MemorySource(name: "t", bytes: quiet.tar())).facts()
        #expect(q.panic == nil)
        #expect(q.kernelRelease == "15.0-CURRENT")
        #expect(q.kernelVersion == "FreeBSD 15.0-CURRENT main-n270000 GENERIC amd64\n    root@build:/usr/obj/sys/GENERIC")
    }

    @Test("an empty message buffer, and a textdump with no members")
    func empty() throws {
        var b = TextdumpBuilder()
        b.messageBuffer = [0, 0, 0]
        let t = try Textdump(source: MemorySource(name: "t", bytes: b.tar()))
        #expect(t.members.map(\.size) == [0])
        #expect(try t.contents(of: "msgbuf.txt") == [])
        let none = TextdumpBuilder().deviceImage(mediaSize: 128 * 1024)
        let d = try #require(try Textdump.recognize(MemorySource(name: "d", bytes: none)))
        #expect(d.members.isEmpty)
    }

    /// `tar` with the header at `offset` changed by `edit`, its checksum recomputed.
    func edited(_ tar: [UInt8], header offset: Int, _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var block = Array(tar[offset..<offset + 512])
        edit(&block)
        TextdumpBuilder.setChecksum(&block)
        var out = tar
        out.replaceSubrange(offset..<offset + 512, with: block)
        return out
    }

    @Test("corrupt archives: checksum, truncation, sizes, octal fields, magic")
    func corruptArchives() throws {
        let tar = builder.tar()
        let t = try Textdump(source: MemorySource(name: "t", bytes: tar))
        let msgbuf = try #require(t.archive.member(named: "msgbuf.txt"))
        let version = try #require(t.archive.member(named: "version.txt"))
        let h = Int(msgbuf.offset)

        // A flipped byte: the checksum no longer matches.
        var flipped = tar
        flipped[h + 265] = UInt8(ascii: "R")   // uname "root" -> "Root"
        let stored = String(tar[(h + 148)..<(h + 154)].filter { $0 != 0x20 }.map { Character(UnicodeScalar($0)) })
        let sum = String(Int(stored, radix: 8)! - Int(UInt8(ascii: "r")) + Int(UInt8(ascii: "R")), radix: 8)
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.1", bytes: flipped)) }?.description
                == "textdump.tar.1: tar header checksum mismatch for \"msgbuf.txt\" at offset \(hex(h + 148)): the header stores \(stored) (octal), its bytes sum to \(sum)")

        // Cut inside msgbuf.txt's data.
        let cut = Array(tar.prefix(Int(msgbuf.dataOffset) + 100))
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.2", bytes: cut)) }?.description
                == "textdump.tar.2: tar member \"msgbuf.txt\" (\(msgbuf.size) bytes) runs past the end of the archive at offset \(hex(msgbuf.dataOffset)): 100 bytes remain after its header")

        // A size far beyond the archive.
        let huge = edited(tar, header: Int(version.offset)) { $0.replaceSubrange(124..<136, with: Array("77777777777\0".utf8)) }
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.3", bytes: huge)) }?.description
                == "textdump.tar.3: tar member \"version.txt\" (8589934591 bytes) runs past the end of the archive at offset \(hex(version.dataOffset)): 512 bytes remain after its header")

        // A partial block after the last member.
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.4", bytes: tar + [UInt8](repeating: 7, count: 100))) }?.description
                == "textdump.tar.4: tar header is cut short at offset \(hex(tar.count)): 100 bytes remain, a header has 512")

        // Not octal.
        let badSize = edited(tar, header: h) { $0.replaceSubrange(124..<136, with: Array("12x4\0\0\0\0\0\0\0\0".utf8)) }
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.5", bytes: badSize)) }?.description
                == "textdump.tar.5: corrupt tar header field size (\"12x4\") at offset \(hex(h + 124)): expected octal digits ended by NUL or space")
        let base256 = edited(tar, header: h) { $0[124] = 0x80 }
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.6", bytes: base256)) }?.kind == .unsupported)

        // A block of something else where a header should be.
        var garbage = tar
        garbage.replaceSubrange(h..<h + 512, with: [UInt8](repeating: 0x41, count: 512))
        #expect(caught { try UstarArchive(source: MemorySource(name: "textdump.tar.7", bytes: garbage)) }?.description
                == "textdump.tar.7: not a ustar header at offset \(hex(h + 257)): the magic field holds \"AAAAAA\", expected \"ustar\"")

        // An all-zero block ends the archive, as other tar writers mark the end.
        let ended = try UstarArchive(source: MemorySource(name: "t", bytes: Array(tar[..<h]) + [UInt8](repeating: 0, count: 1024) + Array(tar[h...])))
        #expect(ended.members.map(\.name) == ["ddb.txt"])
    }

    @Test("corrupt device images: length, headers that disagree, parity, room below the trailer")
    func corruptDeviceImages() throws {
        let size = 160 * 1024
        let image = builder.deviceImage(mediaSize: size)
        let trailer = size - 512
        let source = MemorySource(name: "disk.img", bytes: image)

        #expect(caught { try ReversedBlockSource(base: source, trailerOffset: UInt64(trailer), length: 1000) }?.description
                == "disk.img: textdump length 1000 is not a multiple of 512 at offset \(hex(trailer)): textdumps are written in whole 512-byte blocks")
        #expect(caught { try ReversedBlockSource(base: source, trailerOffset: 4096, length: 8192) }?.description
                == "disk.img: a textdump of 8192 bytes does not fit below its trailing header at offset 0x1000: the header is at 0x1000 of \(size) bytes")

        // The leading header is the kernel's last write before the trailer: lose it and they differ.
        let t = try #require(try Textdump.recognize(source))
        guard case .dumpDevice(_, let leading) = t.layout else { Issue.record("not on a device"); return }
        var interrupted = image
        interrupted.replaceSubrange(Int(leading)..<Int(leading) + 512, with: [UInt8](repeating: 0xa5, count: 512))
        #expect(caught { try Textdump.recognize(MemorySource(name: "disk.img", bytes: interrupted)) }?.description
                == "disk.img: the leading and trailing textdump headers disagree at offset \(hex(leading)): the header at \(hex(leading)) differs from the one at \(hex(trailer)); the textdump was not completed")

        var parity = image
        parity[trailer + 100] ^= 1
        #expect(caught { try Textdump.recognize(MemorySource(name: "disk.img", bytes: parity)) }?.description
                == "disk.img: kernel dump header fails its parity check at offset \(hex(trailer + 508)): the header's 32-bit words XOR to 0x1000000, not 0")

        // A corrupt tar block inside the reassembled stream names the stream.
        var bad = image
        bad[trailer - 512 + 148] = UInt8(ascii: "9")
        let e = caught { try Textdump.recognize(MemorySource(name: "disk.img", bytes: bad)) }
        #expect(e?.description.hasPrefix("disk.img (textdump reassembled): corrupt tar header field checksum") == true)

        // A kernel dump trailer is not a textdump.
        var h = KernelDumpHeaderBuilder()
        h.dumpLength = 4096
        var kernelDump = image
        kernelDump.replaceSubrange(trailer..<trailer + 512, with: h.build())
        #expect(Textdump.probe(MemorySource(name: "k", bytes: kernelDump)) == nil)
        #expect(caught { try Textdump(dumpDevice: MemorySource(name: "k", bytes: kernelDump), trailerOffset: UInt64(trailer)) }?.description
                == "k: not a textdump header at offset \(hex(trailer)): the header's magic is \"FreeBSD Kernel Dump\", expected \"FreeBSD Text Dump\"")
    }

    @Test("a textdump is not memory: Dump says so")
    func notMemory() {
        let e = caught { try openDump(builder.tar(), name: "textdump.tar.0") }
        #expect(e?.description == "textdump.tar.0: a textdump holds no memory: it is a FreeBSD textdump, a tar of text files (ddb output, message buffer, panic message, version); vmcore textdump, dmesg and info read it")
        let onDevice = caught { try openDump(builder.deviceImage(mediaSize: 128 * 1024), name: "disk.img") }
        #expect(onDevice?.kind == .unsupported)
    }

    @Test("extraction writes each member whole, mode 0600, with its time, and nothing else")
    func extraction() throws {
        let dir = try temporaryDirectory().appendingPathComponent("out")
        let t = try Textdump(source: MemorySource(name: "t", bytes: builder.tar()))
        let written = try t.archive.extract(to: dir.path)
        #expect(written.map(\.name) == ["ddb.txt", "msgbuf.txt", "panic.txt", "version.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["ddb.txt", "msgbuf.txt", "panic.txt", "version.txt"])
        for (name, data) in builder.members {
            let path = dir.appendingPathComponent(name).path
            #expect(FileManager.default.contents(atPath: path) == Data(data))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect((attributes[.modificationDate] as? Date) == Date(timeIntervalSince1970: TimeInterval(builder.time)))
        }
        // Extracting again replaces the files.
        #expect(try t.archive.extract(to: dir.path).count == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).count == 4)
    }

    @Test("hostile names are refused before anything is written", arguments: ["../evil", "/etc/evil", "a/b", "..", ".", "", "bell\u{7}"])
    func hostileNames(_ name: String) throws {
        let root = try temporaryDirectory()
        let dir = root.appendingPathComponent("out")
        var tar = TextdumpBuilder.ustarHeader(name: "first.txt", size: 3, time: 0) + Array("ok\n".utf8) + [UInt8](repeating: 0, count: 509)
        let at = tar.count
        tar += TextdumpBuilder.ustarHeader(name: name, size: 5, time: 0) + Array("evil\n".utf8) + [UInt8](repeating: 0, count: 507)
        let archive = try UstarArchive(source: MemorySource(name: "hostile.tar", bytes: tar))
        let e = caught { try archive.extract(to: dir.path) }
        let shown = name == "bell\u{7}" ? "bell\\u{7}" : name
        #expect(e?.description == "hostile.tar: refusing to extract tar member \"\(shown)\" at offset \(hex(at)): a member is written only under a plain file name: no \"/\", not \".\" or \"..\", no control characters")
        #expect(!FileManager.default.fileExists(atPath: dir.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == [])
    }

    @Test("links and directories are listed but not extracted")
    func otherTypes() throws {
        let dir = try temporaryDirectory()
        let tar = TextdumpBuilder.ustarHeader(name: "passwd", size: 0, time: 0, typeflag: UInt8(ascii: "2"))
            + TextdumpBuilder.ustarHeader(name: "notes.txt", size: 2, time: 0) + Array("hi".utf8) + [UInt8](repeating: 0, count: 510)
        let archive = try UstarArchive(source: MemorySource(name: "t", bytes: tar))
        #expect(archive.members.map(\.isRegularFile) == [false, true])
        var skipped: [String] = []
        let written = try archive.extract(to: dir.path) { skipped.append($0.name) }
        #expect(skipped == ["passwd"])
        #expect(written.map(\.name) == ["notes.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["notes.txt"])
    }
}

@Suite("vmcore on FreeBSD textdumps", .enabled(if: vmcoreBinary != nil, "the vmcore executable was not found beside the tests"))
struct TextdumpCLITests {
    let dir: URL
    let tar: String
    let image: String
    let builder = sampleTextdump()

    init() throws {
        dir = try temporaryDirectory()
        tar = dir.appendingPathComponent("textdump.tar.0").path
        image = dir.appendingPathComponent("dumpdev.img").path
        try Data(builder.tar()).write(to: URL(fileURLWithPath: tar))
        try Data(builder.deviceImage(mediaSize: 192 * 1024)).write(to: URL(fileURLWithPath: image))
    }

    @Test("textdump lists members, as text and JSON, from the archive and from a device image")
    func list() throws {
        let sizes = builder.members.map { String($0.data.count) }
        let width = sizes.map(\.count).max()!
        var expected = "name".padding(toLength: 13, withPad: " ", startingAt: 0) + String(repeating: " ", count: width - 4) + "size  modified\n"
        for (name, data) in builder.members {
            let size = String(data.count)
            expected += name.padding(toLength: 13, withPad: " ", startingAt: 0) + String(repeating: " ", count: width - size.count) + size + "  2024-06-01 10:00:00 UTC\n"
        }
        for file in [tar, image] {
            let r = try vmcore(["textdump", file])
            #expect(r.status == 0)
            #expect(r.text == expected)
        }
        let json = try vmcore(["textdump", "--json", image])
        let list = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        #expect(list.map { $0["name"] as? String } == ["ddb.txt", "msgbuf.txt", "panic.txt", "version.txt"])
        #expect(list.map { $0["size"] as? Int } == builder.members.map(\.data.count))
        #expect(list.first?["modificationTime"] as? Int == Int(builder.time))
    }

    @Test("textdump --extract writes the members")
    func extract() throws {
        let out = dir.appendingPathComponent("extracted").path
        let r = try vmcore(["textdump", image, "--extract", out])
        #expect(r.status == 0)
        #expect(r.text == builder.members.map { out + "/" + $0.name + "\n" }.joined())
        for (name, data) in builder.members {
            #expect(FileManager.default.contents(atPath: out + "/" + name) == Data(data))
        }
        let hostile = dir.appendingPathComponent("hostile.tar").path
        try Data(TextdumpBuilder.ustarHeader(name: "../escape", size: 0, time: 0)).write(to: URL(fileURLWithPath: hostile))
        let refused = try vmcore(["textdump", hostile, "--extract", out])
        #expect(refused.status == 1)
        #expect(refused.stderr == "vmcore: \(hostile): refusing to extract tar member \"../escape\" at offset 0x0: a member is written only under a plain file name: no \"/\", not \".\" or \"..\", no control characters\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("escape").path))
    }

    @Test("dmesg prints msgbuf.txt; info tells the panic and the header")
    func dmesgAndInfo() throws {
        let log = String(decoding: builder.messageBuffer!.filter { $0 != 0 }, as: UTF8.self)
        for file in [tar, image] {
            let r = try vmcore(["dmesg", file])
            #expect(r.status == 0)
            #expect(r.text == log)
        }
        #expect(try vmcore(["dmesg", tar, "--tail", "2"]).text == "#2 0xffffffff80b42ff3 at panic+0x43\nUptime: 1m2s\n")

        let info = try vmcore(["info", tar])
        #expect(info.status == 0)
        #expect(info.text.hasPrefix("file:            \(tar)\nformat:          FreeBSD textdump (tar archive as savecore saves it)\nkernel release:  14.1-RELEASE\n"))
        #expect(info.text.contains("panic:           panic: page fault\ncrashed on:      CPU 1\nbacktrace:       3 frames\n  #0 0xffffffff80b9009d at kdb_backtrace+0x5d\n"))
        #expect(info.text.contains("kernel log:      41 lines in msgbuf.txt (vmcore dmesg prints it)\n"))
        #expect(info.text.contains("members:         4\n  ddb.txt      "))
        #expect(!info.text.contains("dump header:"))

        let onDevice = try vmcore(["info", image])
        #expect(onDevice.status == 0)
        #expect(onDevice.text.contains("format:          FreeBSD textdump on a dump device (512-byte blocks in reverse order, headers at "))
        #expect(onDevice.text.contains("hostname:        crashbox.example.org\n"))
        #expect(onDevice.text.contains("dump written:    2024-06-01 10:00:00 UTC\n"))
        #expect(onDevice.text.contains("dump header:     \"FreeBSD Text Dump\" version 4, amd64, textdump format 4, \(builder.tar().count) bytes in 512-byte blocks\n"))

        let json = try #require(try JSONSerialization.jsonObject(with: try vmcore(["info", "--json", image]).stdout) as? [String: Any])
        #expect(json["format"] as? String == "freebsd-textdump")
        #expect(json["panicMessage"] as? String == "page fault")
        #expect((json["header"] as? [String: Any])?["dumpLength"] as? Int == builder.tar().count)
    }

    @Test("panic reads panic.txt and msgbuf.txt, from the archive and from a device image")
    func panic() throws {
        for file in [tar, image] {
            let r = try vmcore(["panic", file])
            #expect(r.status == 0)
            #expect(r.text.hasPrefix("panic: page fault\nCPU 1\n"))
            #expect(r.text.contains("KDB: stack backtrace:\n  #0 0xffffffff80b9009d at kdb_backtrace+0x5d\n"))
        }
    }

    @Test("commands that read memory say a textdump has none; textdump refuses other files")
    func errors() throws {
        let r = try vmcore(["read", tar, "--physical", "0"])
        #expect(r.status == 1)
        #expect(r.stderr == "vmcore: \(tar): a textdump holds no memory: it is a FreeBSD textdump, a tar of text files (ddb output, message buffer, panic message, version); vmcore textdump, dmesg and info read it\n")

        let kdump = dir.appendingPathComponent("vmcore.1")
        try Data(sampleKdump().build()).write(to: kdump)
        let notText = try vmcore(["textdump", kdump.path])
        #expect(notText.status == 1)
        #expect(notText.stderr.hasPrefix("vmcore: \(kdump.path): is not a FreeBSD textdump at offset 0x0: expected a ustar archive"))

        var noLog = TextdumpBuilder()
        noLog.version = "FreeBSD 14.1-RELEASE\n"
        let file = dir.appendingPathComponent("textdump.tar.2")
        try Data(noLog.tar()).write(to: file)
        let dmesg = try vmcore(["dmesg", file.path])
        #expect(dmesg.status == 1)
        #expect(dmesg.stderr == "vmcore: \(file.path): the textdump has no msgbuf.txt: it holds version.txt; the kernel had debug.ddb.textdump.do_msgbuf=0\n")
    }
}
