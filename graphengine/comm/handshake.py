"""The first exchange on every connection: protocol version, codecs, authentication.

Both ends send a *hello* at once (so it costs one round trip), then check each other::

    hello = {"op": "hello", "protocol": 1, "compression": ["lz4"],
             "auth": "hmac-sha256" or None, "nonce": 32 random bytes}

With a shared token both ends then send ``{"op": "auth", "mac": HMAC(token, role +
peer_nonce + own_nonce)}`` and verify the other's: the token itself never crosses the
wire, a recorded exchange cannot be replayed (fresh nonces), and a reflected MAC fails
(the role is inside it). Handshake messages are parsed by a restricted decoder (tiny
size limits, no extension types), so nothing is deserialized before authentication::

    info = await handshake(stream, reader, "client", token=b"s3cret", codecs=["lz4"],
                           peer="tcp://10.0.0.5:8786")
    info["compression"]   # what the peer can decompress
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import msgpack

from graphengine.comm.framing import FrameLimits, FrameReader, write_frames
from graphengine.errors import AuthenticationError, ProtocolError

__all__ = ["PROTOCOL_VERSION", "handshake"]

#: Version of the wire protocol; peers must speak the same one.
PROTOCOL_VERSION = 1

_AUTH_SCHEME = "hmac-sha256"
_NONCE_BYTES = 32
# Handshake messages are a few hundred bytes: refuse anything bigger before parsing.
_LIMITS = FrameLimits(max_frame=4096, max_message=8192, max_header=4096, max_frames=1,
                      split_size=4096)
_ROLES = {"client": b"graphengine-client", "server": b"graphengine-server"}


async def _send(stream: Any, msg: dict[str, Any]) -> None:
    await write_frames(stream, [msgpack.packb(msg, use_bin_type=True)], _LIMITS.split_size)


async def _send_error(stream: Any, kind: str, reason: str) -> None:
    # Best effort: the peer may already have given up on us.
    try:
        await _send(stream, {"op": "error", "kind": kind, "reason": reason})
    except Exception:
        pass


async def _receive(reader: FrameReader, expected: str, peer: str) -> dict[str, Any]:
    reader.limits = _LIMITS  # nothing is trusted before the handshake completes
    frames = await reader.read()
    try:
        msg = msgpack.unpackb(frames[0], raw=False, strict_map_key=True, use_list=True,
                              ext_hook=_refuse_ext)
    except Exception as e:
        raise ProtocolError(f"{peer} sent a malformed handshake message: {e}") from e
    if type(msg) is not dict:
        raise ProtocolError(f"{peer} sent a handshake message that is not a map")
    op = msg.get("op")
    if op == "error":
        reason = msg.get("reason")
        error = AuthenticationError if msg.get("kind") == "auth" else ProtocolError
        raise error(f"{peer} refused the connection: {reason}")
    if op != expected:
        raise ProtocolError(f"{peer} sent {op!r} where the handshake expects {expected!r}")
    return msg


def _refuse_ext(code: int, data: bytes) -> None:
    raise ValueError(f"extension type {code} is not allowed in a handshake")


def _mac(token: bytes, role: str, first: bytes, second: bytes) -> bytes:
    return hmac.new(token, _ROLES[role] + first + second, hashlib.sha256).digest()


async def handshake(stream: Any, reader: FrameReader, role: str, *, token: bytes | None,
                    codecs: list[str], peer: str,
                    version: int = PROTOCOL_VERSION) -> dict[str, Any]:
    """Run the handshake on a fresh tornado IOStream; return what the peer announced.

    Parameters
    ----------
    stream : tornado.iostream.IOStream
        Where to write.
    reader : FrameReader
        Reads from ``stream``; keep using it afterwards (it may hold the next message).
    role : {"client", "server"}
        Our side of the connection (it is bound into the MAC).
    token : bytes, optional
        Shared secret; both ends must have one, and the same.
    codecs : list of str
        Compression codecs we can decompress.
    peer : str
        The peer's address, for error messages.

    Returns
    -------
    dict
        ``{"protocol": int, "compression": [codec, ...]}`` of the peer.

    Raises
    ------
    ProtocolError
        The peer speaks another protocol version (both versions are named) or broke
        the handshake format.
    AuthenticationError
        Tokens differ, or only one side has one.
    tornado.iostream.StreamClosedError
        The peer hung up.
    """
    other = "server" if role == "client" else "client"
    nonce = secrets.token_bytes(_NONCE_BYTES)
    await _send(stream, {"op": "hello", "protocol": version, "compression": list(codecs),
                         "auth": _AUTH_SCHEME if token else None, "nonce": nonce})
    hello = await _receive(reader, "hello", peer)

    theirs = hello.get("protocol")
    if theirs != version:
        reason = (f"incompatible protocol versions: {peer} speaks version {theirs!r}, "
                  f"this process speaks version {version}")
        await _send_error(stream, "protocol", f"incompatible protocol versions: you speak "
                                              f"version {theirs!r}, we speak version {version}")
        raise ProtocolError(reason)
    peer_codecs = hello.get("compression")
    peer_nonce = hello.get("nonce")
    if (type(peer_codecs) is not list or not all(type(c) is str for c in peer_codecs)
            or type(peer_nonce) is not bytes or len(peer_nonce) != _NONCE_BYTES):
        raise ProtocolError(f"{peer} sent a malformed hello")

    peer_auth = hello.get("auth")
    if bool(token) != bool(peer_auth) or (peer_auth and peer_auth != _AUTH_SCHEME):
        if token:
            reason = f"{peer} does not authenticate, but this process requires a token"
        else:
            reason = f"{peer} requires an authentication token, and this process has none"
        await _send_error(stream, "auth", "authentication tokens do not match")
        raise AuthenticationError(reason)

    if token:
        await _send(stream, {"op": "auth", "mac": _mac(token, role, peer_nonce, nonce)})
        proof = (await _receive(reader, "auth", peer)).get("mac")
        expected = _mac(token, other, nonce, peer_nonce)
        if type(proof) is not bytes or not hmac.compare_digest(proof, expected):
            await _send_error(stream, "auth", "authentication failed")
            raise AuthenticationError(f"{peer} failed authentication: its token differs "
                                      f"from ours")
    return {"protocol": theirs, "compression": peer_codecs}
