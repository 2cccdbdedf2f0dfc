import Foundation
import Synchronization
import Testing
import VMCore

#if canImport(Glibc)
import Glibc
#endif

/// The contents of the file at `url`, or nil.
private func contents(_ url: URL) -> [UInt8]? {
    (try? Data(contentsOf: url)).map { Array($0) }
}

/// The `errno` a `SystemCallError`-throwing call failed with, or nil if it did not fail.
private func errorCode<T>(_ body: () throws -> T) -> Int32? {
    do {
        _ = try body()
        return nil
    } catch let error as SystemCallError {
        return error.code
    } catch {
        return -1
    }
}

@Suite("the IO layer: directories, files, processes, the clock")
struct IOTests {
    let dir: URL

    init() throws {
        dir = try temporaryDirectory()
    }

    @Test("a Directory works relative to its descriptor and follows no symbolic link")
    func directory() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: false)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("link").path, withDestinationPath: "sub")
        let d = try Directory(path: dir.path)

        #expect(try d.subdirectory("sub").path == dir.path + "/sub")
        let refused = errorCode { try d.subdirectory("link") }
        #expect(refused == SystemCallError.Code.symbolicLink || refused == SystemCallError.Code.notDirectory)

        let file = try d.createFile("new", permissions: 0o600)
        try file.write(Array("hello".utf8), at: 0)
        file.close()
        #expect(d.exists("new"))
        #expect(d.readFile("new", limit: 3) == Array("hel".utf8))
        #expect(d.readFile("new", limit: 100) == Array("hello".utf8))
        // Creating is exclusive, and a link's name is taken too.
        #expect(errorCode { try d.createFile("new", permissions: 0o600) } == SystemCallError.Code.exists)
        #expect(errorCode { try d.createFile("link", permissions: 0o600) } == SystemCallError.Code.exists)
        // Only regular files are read, and never through a link.
        try d.makeSymbolicLink("to-new", target: "new")
        #expect(try fm.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("to-new").path) == "new")
        #expect(d.readFile("to-new", limit: 10) == nil)
        #expect(d.readFile("sub", limit: 10) == nil)
        #expect(d.readFile("missing", limit: 10) == nil)
        #expect(errorCode { try d.makeSymbolicLink("to-new", target: "sub") } == SystemCallError.Code.exists)

        try d.rename("new", to: "renamed")
        #expect(!d.exists("new") && d.exists("renamed"))
        try d.remove("renamed")
        #expect(!d.exists("renamed"))
        #expect(errorCode { try d.remove("renamed") } == SystemCallError.Code.noSuchEntry)
        // A dangling link still exists.
        try d.makeSymbolicLink("dangling", target: "nowhere")
        #expect(d.exists("dangling"))

        // What is done by name stays in the directory opened, wherever its path goes.
        let moved = dir.appendingPathComponent("moved")
        try fm.moveItem(at: dir.appendingPathComponent("sub"), to: moved)
        let sub = try Directory(path: moved.path)
        try fm.moveItem(at: moved, to: dir.appendingPathComponent("moved-again"))
        try sub.createFile("inside", permissions: 0o600).write([1], at: 0)
        #expect(contents(dir.appendingPathComponent("moved-again/inside")) == [1])

        #expect(errorCode { try Directory(path: dir.appendingPathComponent("missing").path) } == SystemCallError.Code.noSuchEntry)
        try Data([1]).write(to: dir.appendingPathComponent("plain"))
        #expect(errorCode { try Directory(path: dir.appendingPathComponent("plain").path) } == SystemCallError.Code.notDirectory)
    }

    @Test("AtomicFile in a Directory: nothing under the name until commit, with or without waiting for the disk")
    func atomicFileInDirectory() throws {
        let d = try Directory(path: dir.path)
        try Data("old".utf8).write(to: dir.appendingPathComponent("f"))
        for durable in [true, false] {
            let file = try AtomicFile(in: d, name: "f")
            #expect(file.path == dir.path + "/f")
            try file.write(Array("new contents".utf8), 4..<12, at: 0)
            var back = [UInt8](repeating: 0, count: 8)
            try file.read(into: &back, at: 0, count: 8)
            #expect(back == Array("contents".utf8))
            #expect(contents(dir.appendingPathComponent("f")) == Array(durable ? "old".utf8 : "contents".utf8))
            let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            #expect(entries.filter { $0.hasPrefix(".f.tmp-\(getpid())-") }.count == 1)
            try file.commit(length: 8, durable: durable)
            #expect(contents(dir.appendingPathComponent("f")) == Array("contents".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f"])
        }
        let discarded = try AtomicFile(in: d, name: "g")
        try discarded.write([1, 2, 3], 0..<3, at: 0)
        discarded.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["f"])
    }

    @Test("OutputFile: writes at offsets, reads back, truncates, syncs; a closed file is an error, not a crash")
    func outputFile() throws {
        let d = try Directory(path: dir.path)
        let file = try d.createFile("out", permissions: 0o600, readable: true)
        #expect(file.name == "out")
        try file.write([1, 2, 3], at: 10)
        try file.write(contentsOf: [7, 9, 9, 7][1..<3], at: 0)
        try file.write([0, 5, 5, 0], 1..<3, at: 2)
        var back = [UInt8](repeating: 0xff, count: 20)
        #expect(try file.read(into: &back, bufferOffset: 2, at: 0, count: 18) == 13)
        #expect(Array(back[0..<15]) == [0xff, 0xff, 9, 9, 5, 5, 0, 0, 0, 0, 0, 0, 1, 2, 3])
        try file.truncate(to: 4)
        #expect(try file.read(into: &back, at: 0, count: 10) == 4)
        try file.setModificationTime(seconds: 1_000_000_000)
        try file.sync()
        #expect(OutputFile.sync(descriptor: file.descriptor) == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("out").path)
        #expect((attributes[.modificationDate] as? Date) == Date(timeIntervalSince1970: 1_000_000_000))
        #expect((attributes[.size] as? Int) == 4)

        file.close()
        #expect(file.descriptor == -1)
        #expect(OutputFile.sync(descriptor: -1)?.code == EBADF)
        do {
            try file.write([1], at: 42)
            Issue.record("a write to a closed file succeeded")
        } catch {
            #expect(error == SystemCallError(code: EBADF, offset: 42))
            #expect(error.description == "Bad file descriptor")
        }
    }

    @Test("a lock file: opened without following a link or truncating; a second lock is refused until the first is released")
    func lockFile() throws {
        let path = dir.appendingPathComponent("lock").path
        try Data("12345\n".utf8).write(to: URL(fileURLWithPath: path))
        let first = try OutputFile(openingOrCreating: path, permissions: 0o600)
        #expect(contents(URL(fileURLWithPath: path)) == Array("12345\n".utf8))
        try first.lockExclusively()
        let second = try OutputFile(openingOrCreating: path, permissions: 0o600)
        #expect(errorCode { try second.lockExclusively() } == SystemCallError.Code.wouldBlock)
        first.close()
        try second.lockExclusively()

        let link = dir.appendingPathComponent("lock-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(errorCode { try OutputFile(openingOrCreating: link, permissions: 0o600) } == SystemCallError.Code.symbolicLink)
        let created = dir.appendingPathComponent("created").path
        _ = try OutputFile(openingOrCreating: created, permissions: 0o600)
        #expect(FileManager.default.fileExists(atPath: created))
    }

    @Test("CoalescingWriter: contiguous pieces become one write; a gap or a full buffer flushes; a large piece goes straight through")
    func coalescingWriter() throws {
        let d = try Directory(path: dir.path)
        let file = try d.createFile("core", permissions: 0o600)
        let url = dir.appendingPathComponent("core")
        let w = CoalescingWriter(capacity: 8)

        try w.append([1, 2, 3], at: 0, to: file)
        try w.append([0, 4, 5][1...], at: 3, to: file)
        #expect(w.count == 5)
        #expect(contents(url) == [])                       // nothing written yet
        try w.append([6], at: 10, to: file)                // a gap: the first five bytes go out
        #expect(w.count == 1)
        #expect(contents(url) == [1, 2, 3, 4, 5])
        try w.append(repeatElement(UInt8(7), count: 7), at: 11, to: file)  // no contiguous storage
        #expect(w.count == 8)
        try w.append([8, 8], at: 18, to: file)            // would overflow: flush first
        #expect(w.count == 2)
        try w.append([UInt8](repeating: 9, count: 20), at: 40, to: file)  // larger than the buffer
        #expect(w.count == 0)
        try w.flush(to: file)
        try w.flush(to: file)

        var expected = [UInt8](repeating: 0, count: 60)
        expected.replaceSubrange(0..<5, with: [1, 2, 3, 4, 5])
        expected[10] = 6
        expected.replaceSubrange(11..<18, with: [UInt8](repeating: 7, count: 7))
        expected.replaceSubrange(18..<20, with: [8, 8])
        expected.replaceSubrange(40..<60, with: [UInt8](repeating: 9, count: 20))
        #expect(contents(url) == expected)
    }

    @Test("ProcessLauncher: the arguments, directory and environment given; exit status, signals and failures")
    func processLauncher() throws {
        let script = "printf '%s|%s|%s|%s\\n' \"$1\" \"$2\" \"$ONLY\" \"${HOME-unset}\" > out; pwd >> out; exit 3"
        let pid = try ProcessLauncher.spawn("/bin/sh", arguments: ["-c", script, "sh", "a b", "c"],
                                            environment: ["ONLY=given"], directory: dir.path)
        #expect(ProcessLauncher.waitForExit(pid) == 3)
        let real = FileSystem.canonicalPath(dir.path)!
        #expect(String(decoding: contents(dir.appendingPathComponent("out")) ?? [], as: UTF8.self) == "a b|c|given|unset\n\(real)\n")

        // The program starts with no signal blocked or ignored, whatever this thread blocks
        // and this process ignores.
        let previous = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, previous) }
        var blocked = sigset_t(), old = sigset_t()
        sigfillset(&blocked)
        pthread_sigmask(SIG_SETMASK, &blocked, &old)
        let killed = try ProcessLauncher.spawn("/bin/sh", arguments: ["-c", "kill -TERM $$; exit 7"])
        let usr2 = try ProcessLauncher.spawn("/bin/sh", arguments: ["-c", "kill -USR2 $$; exit 7"])
        pthread_sigmask(SIG_SETMASK, &old, nil)
        #expect(ProcessLauncher.waitForExit(killed) == 128 + SIGTERM)
        #expect(ProcessLauncher.waitForExit(usr2) == 128 + SIGUSR2)
        #expect(errorCode { try ProcessLauncher.spawn(dir.appendingPathComponent("missing").path, arguments: []) }
                == SystemCallError.Code.noSuchEntry)
        #expect(errorCode { try ProcessLauncher.spawn("/bin/sh", arguments: [], directory: dir.appendingPathComponent("missing").path) } != nil)
        #expect(ProcessLauncher.waitForExit(1) == -1)   // not a child

        #expect(ProcessLauncher.isExecutable("/bin/sh"))
        #expect(!ProcessLauncher.isExecutable(dir.appendingPathComponent("out").path))
        #expect(ProcessLauncher.currentProcessID == getpid())
    }

    @Test("FileSystem.write(_:toDescriptor:) writes all of its bytes to an open descriptor")
    func writeToDescriptor() throws {
        let file = try Directory(path: dir.path).createFile("stream", permissions: 0o600)
        let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try FileSystem.write(bytes, toDescriptor: file.descriptor)
        try FileSystem.write([1, 2], toDescriptor: file.descriptor)
        #expect(contents(dir.appendingPathComponent("stream")) == bytes + [1, 2])
        file.close()
        #expect(errorCode { try FileSystem.write([1], toDescriptor: -1) } == EBADF)
    }

    @Test("WallClock: UTC parts, ctime's shape, and now")
    func wallClock() throws {
        #expect(WallClock.utc(0) == (1970, 1, 1, 0, 0, 0))
        #expect(WallClock.utc(1_700_000_000) == (2023, 11, 14, 22, 13, 20))
        #expect(WallClock.utc(-1) == (1969, 12, 31, 23, 59, 59))
        let text = try #require(WallClock.ctime(1_700_000_000))
        #expect(text.wholeMatch(of: /[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} 2023\n/) != nil)
        let now = WallClock.now()
        #expect(abs(Double(now.seconds) - Date().timeIntervalSince1970) < 5)
        #expect((0..<1_000_000_000).contains(now.nanoseconds))
    }

    @Test("SystemCallError reads as strerror; its codes are the C library's")
    func systemCallError() {
        #expect(SystemCallError(code: ENOENT).description == "No such file or directory")
        #expect(SystemCallError.Code.exists == EEXIST && SystemCallError.Code.noSuchEntry == ENOENT)
        #expect(SystemCallError.Code.symbolicLink == ELOOP && SystemCallError.Code.notDirectory == ENOTDIR)
        #expect(SystemCallError.Code.wouldBlock == EWOULDBLOCK && SystemCallError.Code.ioError == EIO)
    }

    @Test("the standard cache tells only the notice a program gives it; the library prints nothing")
    func standardNotice() {
        let heard = Mutex<[String]>([])
        DecompressedCache.standard.notice("silent")
        DecompressedCache.standard(notice: { s in heard.withLock { $0.append("given " + s) } }).notice("once")
        DecompressedCache(directory: nil).notice("default")
        #expect(heard.withLock { $0 } == ["given once"])
        #expect(DecompressedCache.standard(notice: { _ in }).directory == DecompressedCache.standard.directory)
    }

    @Test("byte search and the zero check, at every alignment and at the edges of their range")
    func byteScans() {
        var hay = [UInt8](repeating: 0, count: 100)
        hay.replaceSubrange(37..<40, with: [1, 2, 3])
        hay.replaceSubrange(90..<93, with: [1, 2, 3])
        #expect(ByteSearch.firstIndex(of: [1, 2, 3], in: hay) == 37)
        #expect(ByteSearch.firstIndex(of: [1, 2, 3], in: hay, range: 38..<100) == 90)
        #expect(ByteSearch.firstIndex(of: [1, 2, 3], in: hay, range: 38..<92) == nil)
        #expect(ByteSearch.firstIndex(of: [1, 2, 3], in: hay, range: 90..<93) == 90)
        #expect(ByteSearch.firstIndex(of: [], in: hay) == nil)
        #expect(ByteSearch.firstIndex(of: [2, 2], in: [2], range: 0..<1) == nil)
        for start in 0..<9 {
            for end in start..<37 {
                #expect(PageCodec.isZero(hay, start..<end))
            }
            #expect(!PageCodec.isZero(hay, start..<38))
        }
        #expect(PageCodec.isZero(hay, 40..<90))
        #expect(!PageCodec.isZero(hay, 92..<93))
    }
}
