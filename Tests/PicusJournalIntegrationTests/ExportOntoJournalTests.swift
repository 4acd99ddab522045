import Foundation
@testable import PicusJournal
import Testing
import PicusJournalTesting
import PicusJournalFixtures
import PicusJournalTestSupport

/// An export never writes onto the journal it reads: not its file, `-wal`, `-shm`, owners folder or
/// anything in it, however the path is spelled (issue 19: `export -o j.sqlite` turned the journal into HAR).
struct ExportOntoJournalTests {
    /// A journal held open by this process, as a running writer holds it: its `-wal`, `-shm` and
    /// owners folder exist. Beside it: a folder, a symbolic link, a dangling link to a companion name
    /// not yet made, and a hard link to a lock file of the owners folder. (A hard link to the journal
    /// itself is the library test's: the CLI refuses to open a journal with a second name.)
    private struct Scene {
        let seeded: SeededJournal
        var path: String { seeded.journal.path }
        var folder: TemporaryFolder { seeded.folder }

        static func make() async throws -> Scene {
            let seeded = try await SeededJournal.make()
            let folder = seeded.folder
            _ = try seeded.journal.ownerLock()
            try FileManager.default.createDirectory(atPath: folder.path("sub"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder.path("link.sqlite"), withDestinationPath: "journal.sqlite")
            try FileManager.default.createSymbolicLink(atPath: folder.path("dangling"), withDestinationPath: "sub/../journal.sqlite-journal")
            let owners = folder.path("journal.sqlite-owners")
            let lock = try #require(try FileManager.default.contentsOfDirectory(atPath: owners).first)
            try FileManager.default.linkItem(atPath: owners + "/" + lock, toPath: folder.path("lock-copy"))
            return Scene(seeded: seeded)
        }

        /// The journal's own bytes: the file and its WAL (every reader updates `-shm`).
        func bytes() async throws -> Data {
            try await journalBytes(at: path, includingSharedMemory: false)
        }
    }

    static let spellings = [
        "journal.sqlite", "./journal.sqlite", "sub/../journal.sqlite", "link.sqlite",
        "journal.sqlite-wal", "./sub/../journal.sqlite-wal", "journal.sqlite-shm", "journal.sqlite-journal", "dangling",
        "journal.sqlite-owners", "journal.sqlite-owners/ticket.har", "lock-copy",
    ]

    @Test(arguments: spellings)
    func exportOntoTheJournalIsRefusedBeforeAnythingIsWritten(spelling: String) async throws {
        let scene = try await Scene.make()
        let before = try await scene.bytes()
        // Spelled as given, after the folder: `./` and `sub/../` stay in the path the export gets.
        let target = scene.folder.url.path + "/" + spelling
        let existed = FileManager.default.fileExists(atPath: target)

        let result = try await runCLI(["export", "--db", scene.path, "--format", "har", "-o", target], in: scene.folder)

        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("never writes onto the journal"), "\(result.stderr)")
        #expect(!result.stderr.contains("exported"))
        #expect(try await scene.bytes() == before)
        #expect(FileManager.default.fileExists(atPath: target) == existed)
        let names = try FileManager.default.contentsOfDirectory(atPath: scene.folder.url.path)
            + FileManager.default.contentsOfDirectory(atPath: scene.folder.path("journal.sqlite-owners"))
        #expect(names.allSatisfy { !$0.contains(".partial") }, "\(names)")
        let list = try await runCLI(["list", "--db", scene.path, "--format", "json"], in: scene.folder)
        #expect(list.status == 0, "the journal still opens: \(list.stderr)")
    }

    @Test func exportOntoTheJournalIsRefusedByTheLibraryWithAJournalError() async throws {
        let scene = try await Scene.make()
        // A second name made while the journal is open: the same file, whatever it is called.
        try FileManager.default.linkItem(atPath: scene.path, toPath: scene.folder.path("zz-hard.sqlite"))
        let before = try await scene.bytes()

        for spelling in ["journal.sqlite", "sub/../journal.sqlite-wal", "zz-hard.sqlite", "dangling", "journal.sqlite-owners/x.har"] {
            let error = await #expect(throws: JournalError.self) {
                try await scene.seeded.journal.export(matching: JournalQuery(limit: nil), as: .har, toFile: scene.folder.url.path + "/" + spelling)
            }
            #expect(error?.code == .exportOntoJournal, "\(spelling)")
        }

        #expect(try await scene.bytes() == before)
        let ticket = try await scene.seeded.journal.export(matching: JournalQuery(limit: nil), as: .har,
                                                            toFile: scene.folder.path("journal.sqlite.har"))
        #expect(ticket.entries == 8, "a name that only starts like the journal's is fine")
    }

    @Test func exportToAStdoutThatIsTheJournalIsRefused() async throws {
        let scene = try await Scene.make()
        let before = try await scene.bytes()

        // The shell opens the journal for the export's stdout, in the child: this process never
        // opens a descriptor of its own on a journal SQLite holds locks on.
        let result = try await runBinary(URL(fileURLWithPath: "/bin/sh"),
                                         ["-c", #"exec "$0" export --db "$1" --format ndjson >> "$1""#, Products.cli.path, scene.path],
                                         in: scene.folder)

        #expect(result.status == 1)
        #expect(result.stderr.contains("stdout is the journal itself"), "\(result.stderr)")
        #expect(try await scene.bytes() == before)
    }
}
