import Testing
@testable import Catalog

/// Last-writer-wins under skewed clocks: a change made after seeing another change of the same
/// register wins on every node, whatever the two devices' clocks say.
struct ClockTests {
    /// A day after the library was founded: the devices' clocks in these tests start here.
    static let day: Int64 = t0 + 86_400_000

    /// B (clock `bNow`) sets the description; A (clock `aNow`) applies B's batch at `aApplyNow`,
    /// shows B's text and changes it; B applies A's batch. Returns both devices' descriptions.
    func editAfterSeeing(aNow: Int64, bNow: Int64, aApplyNow: Int64? = nil) throws -> (a: String?, b: String?, catalogs: [Catalog]) {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        let id = assetID(1)
        try a.commit([.importAsset(anImport(1))], now: aNow)
        try sync(a, b, now: bNow)
        try b.commit([.setDescription(id, "from B")], now: bNow)
        try sync(b, a, now: aApplyNow ?? aNow)
        #expect(try a.asset(id)?.description == "from B")
        try a.commit([.setDescription(id, "from A")], now: aNow + 1_000)
        try sync(a, b, now: bNow + 2_000)
        return (try a.asset(id)?.description, try b.asset(id)?.description, cs)
    }

    @Test func laterEditWinsOverAClockTwoMinutesAhead() throws {
        let r = try editAfterSeeing(aNow: Self.day, bNow: Self.day + 120_000)
        #expect(r.a == "from A" && r.b == "from A")
        #expect(try r.catalogs[0].digest() == r.catalogs[1].digest())
    }

    /// What the sync session used to pass as `now` (ms since the connection started): the
    /// remote clock then never advanced A's, and only the register rule makes A's edit win.
    @Test func laterEditWinsWhenTheBatchWasAppliedWithElapsedTime() throws {
        let r = try editAfterSeeing(aNow: Self.day, bNow: Self.day + 120_000, aApplyNow: 1_000)
        #expect(r.a == "from A" && r.b == "from A")
    }

    @Test func laterEditWinsOverAClockIn2099() throws {
        let aNow = Self.day
        let r = try editAfterSeeing(aNow: aNow, bNow: 4_070_908_800_000)
        #expect(r.a == "from A" && r.b == "from A")
        #expect(try r.catalogs[0].digest() == r.catalogs[1].digest())
        // The raise made A's edit win; it did not drag A's own clock to 2099.
        let clock = try r.catalogs[0].db.read { try Meta.clock($0) }
        #expect(clock <= (UInt64(aNow + 1_000 + HLC.maxClockSkewMillis) << 16) | 0xffff)
    }

    @Test func laterEditWinsWhenItsOwnClockIsAnHourBehind() throws {
        let r = try editAfterSeeing(aNow: Self.day - 3_600_000, bNow: Self.day)
        #expect(r.a == "from A" && r.b == "from A")
        #expect(try r.catalogs[0].digest() == r.catalogs[1].digest())
    }

    @Test func laterAlbumRenameWinsOverAClockIn2099() throws {
        let cs = try library(2)
        let (a, b) = (cs[0], cs[1])
        let album = albumID(1)
        try a.commit([.createAlbum(album, name: "Trip")], now: Self.day)
        try sync(a, b, now: 4_070_908_800_000)
        try b.commit([.renameAlbum(album, "Trip (B)")], now: 4_070_908_800_000)
        try sync(b, a, now: Self.day)
        // Two edits in one batch: the first replaces B's name, the second A's own first one.
        try a.commit([.renameAlbum(album, "Trip (A)"), .renameAlbum(album, "Trip 2026")], now: Self.day + 1_000)
        try sync(a, b, now: 4_070_908_802_000)
        for c in cs { #expect(try c.albums().first { $0.id == album }?.name == "Trip 2026") }
    }

    /// An edit that saw nothing newer keeps its ticked clock: the rule only raises, never lowers.
    @Test func unraisedCommitKeepsItsClock() throws {
        let c = try library(1)[0]
        try c.commit([.importAsset(anImport(1))], now: Self.day)
        try c.commit([.setDescription(assetID(1), "x")], now: Self.day + 5)
        let clock = try c.db.read { try Meta.clock($0) }
        #expect(clock == UInt64(Self.day + 5) << 16)
    }
}
