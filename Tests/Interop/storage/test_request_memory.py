"""One client cannot book the server's memory for request messages: streams that declare a
4 MiB message and send a byte of it hold at most the client's share (128 MiB of the 512 MiB),
so another client's 4 MiB messages are served meanwhile."""

from __future__ import annotations

import raw_h2
import storage_support as ss
from storage_support import MIB, obj_pb

pytestmark = ss.only_blob_stores("disk")   # the budget is sluiced's, whatever the store

CONNECTIONS, STREAMS = 6, 25      # 150 declared messages of 4 MiB: 600 MiB, past the 512 MiB budget


def test_declared_messages_of_one_client_leave_room_for_another(storage):
    srv = storage.server(label="sluiced-request-memory")
    declared = (4 * MIB).to_bytes(4, "big")
    holders = []
    try:
        for _ in range(CONNECTIONS):
            raw = raw_h2.RawH2("127.0.0.1", srv.port, srv.certs, "client").connect()
            for _ in range(STREAMS):
                sid = raw.new_stream()
                raw.conn.send_headers(sid, raw.request_headers("/sluice.v1.ObjectService/PutObject"))
                raw.conn.send_data(sid, b"\0" + declared + b"\x0a")   # prefix and one byte, no end
            raw.flush()
            holders.append(raw)
        data = ss.random_bytes(4 * MIB, seed=4)
        other = srv.client("client2")
        put = other.objects.PutObject(obj_pb.PutObjectRequest(
            name=ss.unique_name("request-memory/other"), data=data, sha256=ss.sha(data)), timeout=30)
        assert put.size == len(data)
    finally:
        for raw in holders:
            raw.close()
    srv.assert_alive()
