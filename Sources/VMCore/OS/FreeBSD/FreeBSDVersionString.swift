/// The FreeBSD kernel's `version[]` string (`sys/conf/newvers.sh`), as version.txt, the dump
/// header's versionstring and the boot messages carry it: "FreeBSD 14.1-RELEASE
/// releng/14.1-n267679-10e31f0946d8 GENERIC amd64", sometimes followed by build lines.
public enum FreeBSDVersionString {
    /// The first line, when it starts "FreeBSD ".
    public static func firstLine(_ text: String) -> String? {
        let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init)?.trimmingWhitespace
        guard let line, line.hasPrefix("FreeBSD "), line.split(separator: " ").count >= 2 else { return nil }
        return line
    }

    /// The release: the word after "FreeBSD" ("14.1-RELEASE").
    public static func release(_ text: String) -> String? {
        firstLine(text).map { String($0.split(separator: " ")[1]) }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines.
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
