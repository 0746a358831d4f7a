import SluiceProto
import SluiceStore
import SwiftProtobuf

extension Sluice_V1_Change {
    init(_ event: ChangeEvent) {
        self.init()
        cursor = event.cursor.description
        owner = event.owner
        name = event.name
        actor = event.actor
        commitTime = Google_Protobuf_Timestamp(date: event.committedAt)
        switch event.kind {
        case .versionCreated:
            kind = .versionCreated
            version = event.version
            size = event.size
            sha256 = .init(event.sha256)
        case .objectDeleted:
            kind = .objectDeleted
        case .grantAdded, .grantRevoked:
            kind = event.kind == .grantAdded ? .grantAdded : .grantRevoked
            var grant = Sluice_V1_Grant()
            grant.owner = event.owner
            grant.grantee = event.grantee
            grant.scope = event.grantScope == "object" ? .object : .prefix
            grant.path = event.name
            grant.access = event.grantAccess == "write" ? .write : .read
            grant.updateTime = commitTime
            self.grant = grant
        }
    }
}
