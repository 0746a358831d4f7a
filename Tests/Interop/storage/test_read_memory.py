"""Reads whose client never lets their bytes through (a stream window of 0) cannot take the
server's memory: every read waits, before reading, until the buffers it may hold (three 1 MiB
chunks) fit in the process's 512 MiB for reads, of which one principal may hold a quarter.
Another principal's reads are served meanwhile."""

from __future__ import annotations

import time

import raw_h2
import storage_support as ss
from storage_support import MIB, obj_pb

pytestmark = ss.only_blob_stores("disk")   # the budget is sluiced's, whatever the store

STALLED = 240                 # 240 reads would hold ~720 MiB without the bound
PRINCIPAL_SHARE_MIB = 128


def test_stalled_reads_of_one_principal_hold_at_most_its_share(storage):
    srv = storage.server(label="sluiced-read-memory")
    owner, other = srv.client("client"), srv.client("client2")
    name = ss.unique_name("read-memory/big")
    data = ss.random_bytes(8 * MIB, seed=3)
    owner.put_object(name, data, partition_size=8 * MIB)
    before = ss.rss_mib(srv.mp.proc.pid)

    stalled = []
    request = raw_h2.grpc_frame(obj_pb.ReadObjectRequest(name=name).SerializeToString())
    for _ in range(STALLED // 120):   # 120 streams per connection, under its 256
        raw = raw_h2.RawH2("127.0.0.1", srv.port, srv.certs, "client").connect(window=0)
        for _ in range(120):
            sid = raw.new_stream()
            raw.conn.send_headers(sid, raw.request_headers("/sluice.v1.ObjectService/ReadObject"))
            raw.conn.send_data(sid, request, end_stream=True)
        raw.flush()
        stalled.append(raw)
    try:
        time.sleep(3)   # every read has taken what it may
        grown = ss.rss_mib(srv.mp.proc.pid) - before
        assert grown < PRINCIPAL_SHARE_MIB + 96, f"sluiced grew by {grown:.0f} MiB with {STALLED} stalled reads"
        # another principal reads the whole object meanwhile (through its own grant-free copy)
        other_name = ss.unique_name("read-memory/other")
        other.put_object(other_name, data, partition_size=8 * MIB)
        ss.assert_same_bytes(other.read(other_name), data, "another principal's read")
    finally:
        for raw in stalled:
            raw.close()
    srv.assert_alive()
