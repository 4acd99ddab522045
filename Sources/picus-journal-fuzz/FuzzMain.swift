import Foundation
import PicusJournalFuzzing

#if FUZZING
/// libFuzzer's driver, for a program whose `main` is its own (SwiftPM names an executable's entry
/// point `<module>_main`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The entry point when built with `-sanitize=fuzzer -DFUZZING -parse-as-library` (see the README):
/// hands the command line to libFuzzer, which calls ``fuzz(_:_:)`` with each input.
@_cdecl("picus_journal_fuzz_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}

/// One input: every property checked, and the first violation stops the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    let violations = Fuzzing.check(data)
    if !violations.isEmpty {
        // A violation is a finding: stop here so that libFuzzer saves the input.
        fatalError(violations.joined(separator: "; "))  // safe: the fuzzer's way to report a finding
    }
    return 0
}
#else
/// Without the fuzzer: runs the inputs given as files (a corpus) through the checks once each.
@main
struct FuzzCorpusRunner {
    static func main() {
        var failures = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for violation in Fuzzing.check(data) {
                print("\(path): \(violation)")
                failures += 1
            }
        }
        print("\(CommandLine.arguments.count - 1) inputs, \(failures) violations")
        exit(failures == 0 ? 0 : 1)
    }
}
#endif
