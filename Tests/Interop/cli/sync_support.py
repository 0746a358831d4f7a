"""Helpers of the `sluice sync` tests: trees on disk, compared by content, and
waiting (bounded) for directories to converge."""

from __future__ import annotations

import hashlib
import os
import time


def tree(root: str) -> dict[str, str]:
    """Relative path → SHA-256 of every regular file, and "DIR/" → "dir" for every
    directory, under root; sync's own temporary files are left out (they are never
    visible as synced files)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d)) + "/"] = "dir"
        for f in filenames:
            if f.startswith(".") and (".sluice-part" in f or f.endswith(".sluice-download")):
                continue
            path = os.path.join(dirpath, f)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f))] = hashlib.sha256(fh.read()).hexdigest()
    return out


def write(root: str, rel: str, data: bytes) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(root: str, rel: str) -> bytes:
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()


def wait_same(roots: list[str], timeout: float, what: str, extra=None) -> dict[str, str]:
    """Polls until every root holds the same tree (and extra(tree) is true); fails with
    the differences after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        trees = [tree(r) for r in roots]
        if all(t == trees[0] for t in trees) and (extra is None or extra(trees[0])):
            return trees[0]
        if time.monotonic() > deadline:
            lines = []
            keys = sorted(set().union(*trees))
            for k in keys:
                values = [t.get(k, "-")[:8] for t in trees]
                if len(set(values)) > 1:
                    lines.append(f"  {k}: {values}")
            raise AssertionError(f"{what}: not converged within {timeout:.0f}s\n" + "\n".join(lines[:60])
                                 + f"\nfirst tree: {sorted(trees[0])[:60]}")
        time.sleep(0.2)
