"""Credentials for the comm layer: mutual TLS certificates and a shared auth token.

``tls://`` connections use mutual TLS: both ends present a certificate signed by the
cluster's CA (hostnames are not checked; the CA is the identity). ``tcp://`` connections
may require a shared token, proven by an HMAC challenge-response in the handshake
(:mod:`graphengine.comm.handshake`), so the token never crosses the wire::

    >>> sec = Security.temporary(token="s3cret")   # self-signed CA + cert for this session
    >>> sec.tls_configured, sec.token is not None
    (True, True)
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import tempfile
import weakref
from typing import Any

from graphengine import config

__all__ = ["Security"]


class Security:
    """TLS credentials (file paths) and/or an authentication token.

    Parameters
    ----------
    ca_file : str, optional
        PEM file of the CA that signs every certificate of the cluster.
    cert : str, optional
        PEM certificate of this process (may also hold the key).
    key : str, optional
        PEM private key, when not inside ``cert``.
    token : str or bytes, optional
        Shared secret for the ``tcp://`` (and ``tls://``) authentication handshake.

    Examples
    --------
    >>> Security(token="abc")
    Security(ca_file=None, cert=None, key=None, token=***)
    """

    def __init__(self, ca_file: str | None = None, cert: str | None = None,
                 key: str | None = None, token: str | bytes | None = None):
        self.ca_file = ca_file
        self.cert = cert
        self.key = key
        if isinstance(token, str):
            token = token.encode()
        if token is not None and not token:
            raise ValueError("an empty authentication token would authenticate anyone")
        self.token: bytes | None = token
        self._contexts: dict[str, ssl.SSLContext] = {}

    @classmethod
    def from_config(cls) -> "Security":
        """Credentials from ``comm.tls.*`` and ``comm.auth-token``."""
        return cls(ca_file=config.get("comm.tls.ca-file"), cert=config.get("comm.tls.cert"),
                   key=config.get("comm.tls.key"), token=config.get("comm.auth-token"))

    @classmethod
    def temporary(cls, token: str | bytes | None = None, days: int = 7) -> "Security":
        """A new self-signed CA and a certificate it signs, in a private temporary folder.

        Every process of a session shares this one certificate (pass the ``Security``
        along); the folder is deleted when the object is garbage collected.
        Requires the ``cryptography`` package.
        """
        folder = tempfile.mkdtemp(prefix="graphengine-tls-")
        ca_pem, cert_pem, key_pem = _make_certificates(days)
        paths = {}
        for name, data in (("ca.pem", ca_pem), ("cert.pem", cert_pem), ("key.pem", key_pem)):
            path = os.path.join(folder, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            paths[name] = path
        sec = cls(ca_file=paths["ca.pem"], cert=paths["cert.pem"], key=paths["key.pem"],
                  token=token)
        weakref.finalize(sec, shutil.rmtree, folder, True)
        return sec

    @property
    def tls_configured(self) -> bool:
        """True when a CA and a certificate are set (enough to listen on ``tls://``)."""
        return bool(self.ca_file and self.cert)

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for listening on ``tls://``, requiring client certificates."""
        ctx = self._contexts.get("server")
        if ctx is None:
            if not self.tls_configured:
                raise ValueError("listening on tls:// needs a Security with ca_file and cert "
                                 "(and key); Security.temporary() makes a throwaway set")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(self.cert, self.key)
            ctx.load_verify_locations(self.ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no certificate, no connection
            self._contexts["server"] = ctx
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for connecting to ``tls://``; verifies the peer against the CA."""
        ctx = self._contexts.get("client")
        if ctx is None:
            if not self.ca_file:
                raise ValueError("connecting to tls:// needs a Security with ca_file (and a "
                                 "cert the server trusts); Security.temporary() makes one")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_verify_locations(self.ca_file)
            if self.cert:
                ctx.load_cert_chain(self.cert, self.key)
            # Cluster peers are reached by IP and share one certificate; trust comes from
            # the CA signature, not from the name.
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_REQUIRED
            self._contexts["client"] = ctx
        return ctx

    def __getstate__(self) -> dict[str, Any]:
        return {"ca_file": self.ca_file, "cert": self.cert, "key": self.key,
                "token": self.token}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def __repr__(self) -> str:
        token = "***" if self.token else None
        return (f"Security(ca_file={self.ca_file!r}, cert={self.cert!r}, key={self.key!r}, "
                f"token={token})")


def _make_certificates(days: int) -> tuple[bytes, bytes, bytes]:
    """PEM bytes of a CA certificate, a leaf certificate it signs and the leaf key."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as e:  # the optional 'tls' extra
        raise ImportError("Security.temporary() needs the 'cryptography' package: "
                          "pip install 'graphengine[tls]'") from e

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graphengine temporary CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graphengine")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return ca_cert.public_bytes(pem), cert.public_bytes(pem), key_pem
