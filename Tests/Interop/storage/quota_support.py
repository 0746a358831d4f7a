"""Helpers for the quota, rate-limit, usage and admin tests: the UsageService and
AdminService stubs over a StorageClient's channel, and the identities of the dev
certificates as sluiced's default --principal-from (subject+sans) names them."""

from __future__ import annotations

import grpc

import storage_support as ss
from sluice.v1 import admin_pb2 as adm_pb
from sluice.v1 import admin_pb2_grpc as adm_grpc
from sluice.v1 import sharing_pb2 as sh_pb
from sluice.v1 import sharing_pb2_grpc as sh_grpc
from sluice.v1 import usage_pb2 as use_pb
from sluice.v1 import usage_pb2_grpc as use_grpc

# certs/client.pem: CN=sluice-client, DNS SAN client.sluice.test
ALICE_IDENTITY = "CN=sluice-client;DNS=client.sluice.test"
PUSHBACK = "grpc-retry-pushback-ms"

L = adm_pb.Limit
QUOTA_BYTES, QUOTA_OBJECTS, QUOTA_SESSIONS = L.LIMIT_QUOTA_BYTES, L.LIMIT_QUOTA_OBJECTS, L.LIMIT_QUOTA_SESSIONS
RATE_REQUESTS, RATE_BYTES_IN, RATE_BYTES_OUT = (
    L.LIMIT_REQUESTS_PER_SECOND, L.LIMIT_BYTES_IN_PER_SECOND, L.LIMIT_BYTES_OUT_PER_SECOND)


class Caller:
    """One principal: its StorageClient plus usage, admin and whoami stubs."""

    def __init__(self, server, who: str):
        self.c = server.client(who)
        self.usage_stub = use_grpc.UsageServiceStub(self.c.channel)
        self.admin = adm_grpc.AdminServiceStub(self.c.channel)
        self.sharing = sh_grpc.SharingServiceStub(self.c.channel)
        self._me = None

    @property
    def me(self):
        if self._me is None:
            self._me = self.sharing.WhoAmI(sh_pb.WhoAmIRequest(), timeout=ss.TIMEOUT)
        return self._me

    @property
    def handle(self) -> str:
        return self.me.handle

    def usage(self, days: int = 0):
        return self.usage_stub.GetUsage(use_pb.GetUsageRequest(days=days), timeout=ss.TIMEOUT)

    # --- admin ------------------------------------------------------------

    def limits(self, handle: str, values: dict, clear=()):
        """Sets overrides {Limit: value} of `handle` and clears the Limits in `clear`."""
        return self.admin.SetLimits(adm_pb.SetLimitsRequest(
            handle=handle, set=[adm_pb.LimitOverride(limit=k, value=v) for k, v in values.items()],
            clear=list(clear)), timeout=ss.TIMEOUT)

    def disable(self, handle: str, disabled: bool = True):
        return self.admin.SetPrincipalDisabled(
            adm_pb.SetPrincipalDisabledRequest(handle=handle, disabled=disabled), timeout=ss.TIMEOUT)

    def abort_sessions(self, handle: str) -> int:
        return self.admin.AbortPrincipalSessions(
            adm_pb.AbortPrincipalSessionsRequest(handle=handle), timeout=ss.TIMEOUT).aborted_sessions

    def principals(self):
        out, token = [], ""
        for _ in range(100):
            page = self.admin.ListPrincipals(adm_pb.ListPrincipalsRequest(page_size=2, page_token=token),
                                             timeout=ss.TIMEOUT)
            out += list(page.principals)
            token = page.next_page_token
            if not token:
                return out
        raise AssertionError("ListPrincipals did not end within 100 pages")

    def usage_of(self, handle: str, days: int = 0):
        return self.admin.GetPrincipalUsage(adm_pb.GetPrincipalUsageRequest(handle=handle, days=days),
                                            timeout=ss.TIMEOUT)

    def register(self, handle: str, identity: str):
        return self.admin.RegisterPrincipal(adm_pb.RegisterPrincipalRequest(handle=handle, identity=identity),
                                            timeout=ss.TIMEOUT)


def raw_connection(server, who: str):
    """A raw HTTP/2 connection (Tests/Interop/raw_h2.py), on which every trailer can be
    read: grpcio keeps reserved `grpc-*` trailers such as grpc-retry-pushback-ms to itself."""
    import raw_h2
    return raw_h2.RawH2("127.0.0.1", server.port, server.certs, who).connect()


def raw_call(raw, path: str, request):
    """One unary call on a raw connection; its StreamResult."""
    sid = raw.unary(path, request.SerializeToString())
    return raw.wait(sid, timeout=ss.TIMEOUT)


def raw_unary(server, who: str, path: str, request):
    """One unary call on a raw connection of its own."""
    with raw_connection(server, who) as raw:
        return raw_call(raw, path, request)


def raw_trailer(result, key: str):
    return result._field(key)


def trailer(error: grpc.RpcError, key: str):
    for k, v in (error.trailing_metadata() or ()):
        if k == key:
            return v
    return None
