#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (Fuzz/Corpus/<target>/seed-*): valid frames,
messages, tokens, journals and configurations, for the fuzzers to mutate.

    .venv/bin/python Fuzz/make-corpus.py      (needs the h2 package of the interop venv)

Regression inputs (crashes found and fixed) live beside the seeds as regression-*; this
script leaves them alone.
"""
import base64
import gzip
import json
import struct
from pathlib import Path

import h2.config
import h2.connection

CORPUS = Path(__file__).resolve().parent / "Corpus"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, value):
    """One protobuf field: int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def message(*fields):
    return b"".join(field(n, v) for n, v in fields)


def frame(payload, compressed=False):
    if compressed:
        payload = gzip.compress(payload)
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


SHA = bytes(range(32))
CREATE = message((1, "photos/2024/cat.jpg"), (2, 10), (3, 4), (4, SHA), (4, SHA), (4, SHA), (5, SHA),
                 (6, "image/jpeg"), (7, message((1, "owner"), (2, "ada"))))
REQUESTS = [
    CREATE,
    message((1, "0123456789abcdef0123456789abcdef")),                       # Get/Abort/CommitSession
    message((1, 50), (2, base64.b64encode(b"p photos/").decode()), (3, 1)),  # ListSessions
    message((1, message((1, "0123456789abcdef0123456789abcdef"), (2, 3)))),  # UploadPartition target
    message((2, b"partition bytes")),                                        # UploadPartition data
    message((1, "photos/"), (2, "/"), (3, 10), (4, "")),                     # ListObjects
    message((1, "a/b"), (2, 2), (3, 5), (4, 100)),                           # ReadObject
    message((1, "a/b"), (2, 1), (3, 0), (4, 0), (5, 16)),                    # ReadPartition
    b"",
]


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"seed-{name}").write_bytes(data)


def deframer():
    for index, request in enumerate(REQUESTS):
        write("FuzzDeframer", f"message-{index}", bytes([index * 2]) + frame(request))
    write("FuzzDeframer", "gzip", b"\x01" + frame(CREATE, compressed=True) + frame(REQUESTS[1]))
    write("FuzzDeframer", "several", b"\x7e" + b"".join(frame(r) for r in REQUESTS))
    write("FuzzDeframer", "truncated", b"\x00" + frame(CREATE)[:-3])


def h2c(name, calls, extra=None):
    """A client connection's bytes after the preface: SETTINGS, then each call's HEADERS and
    DATA (END_STREAM on the last)."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    for path, messages, headers in calls:
        stream = connection.get_next_available_stream_id()
        connection.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), *headers,
        ])
        body = b"".join(messages)
        connection.send_data(stream, body, end_stream=True)
    if extra:
        extra(connection)
    data = connection.data_to_send()
    assert data.startswith(PREFACE)
    write("FuzzServerConnection", name, data[len(PREFACE):])


def server_connection():
    health = "/grpc.health.v1.Health/Check"
    h2c("health-check", [(health, [frame(message((1, "")))], [("grpc-timeout", "5S")])])
    h2c("health-watch", [("/grpc.health.v1.Health/Watch", [frame(message((1, "")))], [])])
    h2c("health-list", [("/grpc.health.v1.Health/List", [frame(b"")], [("x-trace-bin", "AAECAw")])])
    h2c("health-gzip", [(health, [frame(message((1, "")), compressed=True)], [("grpc-encoding", "gzip")])])
    reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    h2c("reflection", [(reflection, [
        frame(message((7, ""))),
        frame(message((4, "grpc.health.v1.Health"))),
        frame(message((3, "grpc/health/v1/health.proto"))),
    ], [])])
    h2c("unknown-method", [("/no.Such/Method", [frame(b"")], [("grpc-timeout", "1m")])])
    h2c("two-calls", [(health, [frame(message((1, "")))], []), (health, [frame(message((1, "x")))], [])])

    def control(connection):
        connection.ping(b"12345678")
        connection.increment_flow_control_window(1 << 20)
        connection.reset_stream(1)
    h2c("control-frames", [(health, [frame(message((1, "")))], [])], extra=control)


def metadata():
    lines = {
        "timeouts": "grpc-timeout:100m\ngrpc-timeout:99999999H\ngrpc-timeout:1n",
        "binary": "x-id-bin:AAEC\nx-id-bin:AAECAw==, AQ\nx-key:value",
        "status": "grpc-status:14\ngrpc-message:the server is%20busy %E2%98%83",
        "request": ":path:/grpc.health.v1.Health/Check\ncontent-type:application/grpc\ngrpc-encoding:gzip",
    }
    for name, text in lines.items():
        write("FuzzMetadata", name, text.encode())


def page_tokens():
    for name, text in {"object": "ophotos/cat.jpg", "prefix": "pphotos/2024/",
                       "session": "1733390000000000:0123456789abcdef0123456789abcdef", "version": "42"}.items():
        write("FuzzPageToken", name, base64.b64encode(text.encode()))
    write("FuzzPageToken", "empty", b"")


def object_validation():
    rs = b"\x1e"
    sizes = struct.pack(">qq", 10, 4) + b"\x06"
    write("FuzzObjectValidation", "valid", sizes + b"photos/cat.jpg" + rs + b"image/jpeg" + rs + b"owner" + rs + b"ada")
    write("FuzzObjectValidation", "unicode", "r\u00e9sum\u00e9/\u732b.txt".encode() + rs + rs + "e\u0301".encode() + rs + b"1")
    write("FuzzObjectValidation", "long", b"n" * 1025)


def client_files():
    journal = {
        "server": "localhost:8443", "path": "/home/ada/cat.jpg", "objectName": "photos/cat.jpg", "size": 10,
        "modificationTime": 1733390000000000000, "partitionSize": 4,
        "partitionSHA256": [SHA.hex()] * 3, "objectSHA256": SHA.hex(), "sessionID": "0123456789abcdef",
    }
    write("FuzzClientFiles", "journal", b"\x00" + json.dumps(journal, indent=2, sort_keys=True).encode())
    sidecar = {"objectName": "photos/cat.jpg", "version": 3, "size": 10, "partitionSize": 4,
               "objectSHA256": SHA.hex(), "partitionSHA256": [SHA.hex()] * 3, "verified": [0, 2]}
    write("FuzzClientFiles", "sidecar", b"\x01" + json.dumps(sidecar, sort_keys=True).encode())
    config = "# sluice\nserver = localhost:8443\nca = \"certs/ca.pem\"\ncert = ~/client.pem\nkey='client-key.pem'\n"
    write("FuzzClientFiles", "config", b"\x02" + config.encode())
    partitions = [message((1, i), (2, i * 4), (3, 4 if i < 2 else 2), (4, SHA)) for i in range(3)]
    info = message((1, "photos/cat.jpg"), (2, 3), (3, 10), (4, SHA), (9, 4), (10, 3), *[(11, p) for p in partitions])
    write("FuzzClientFiles", "object-info", b"\x03" + info)


if __name__ == "__main__":
    deframer()
    server_connection()
    metadata()
    page_tokens()
    object_validation()
    client_files()
