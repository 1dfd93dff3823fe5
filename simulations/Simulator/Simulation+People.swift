import Catalog
import HearthCrypto

extension Simulation {
    /// People edits a current node makes now and then, in a commit of their own after an import
    /// (one photo in eight, chosen by the photo's bytes so that the seed's random draws stay
    /// the same): a new person, a rename, or linking its own device to a person. Older nodes
    /// keep them unapplied until upgraded, and convergence covers them like everything else. The
    /// founder makes none (as with `newerImportEdits`): it writes the member list, and a protocol 1
    /// peer gets each origin only up to its first version 3 batch.
    func peopleEdits(_ n: SimNode, _ bytes: [UInt8]) -> [Edit] {
        guard n.index != 0, !isOlder(n), let cat = n.catalog else { return [] }
        let h = Blake2b.hash(bytes + Array("person".utf8))
        guard h[0] & 7 == 0 else { return [] }
        let people = (try? cat.people()) ?? []
        switch h[1] % 3 {
        case 0 where !people.isEmpty:
            let p = people[Int(h[2]) % people.count]
            return [.setPerson(p.id, .name, .text("Person \(Hex.encode(Array(h[3..<5])))"))]
        case 1 where !people.isEmpty:
            return [.setDevicePerson(cat.device, people[Int(h[2]) % people.count].id)]
        default:
            return [.createPerson(PersonID.version4(Array(h[8..<24])), name: "P\(n.index)",
                                  email: "p\(Hex.encode(Array(h[3..<7])))@sim.example", isAdmin: people.isEmpty,
                                  passwordHash: nil, avatarColor: Person.avatarColors[Int(h[5]) % Person.avatarColors.count])]
        }
    }
}
