"""The certificates and keys of one test control plane: a CA, the API server's serving certificate,
client certificates per component, and the service-account signing key."""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.kubesim.tls import make_ca

# Client identities: file stem -> (common name, organisations). RBAC grants by these names.
CLIENTS = {
    "admin": ("milvusops-test-admin", ["system:masters"]),
    "controller-manager": ("system:kube-controller-manager", []),
    "scheduler": ("system:kube-scheduler", []),
    "kwok": ("milvusops-test-kwok", ["system:masters"]),
}


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path, data, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _issue(ca_key, ca_cert, cn, orgs=(), sans=(), server=False):
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=7))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        names = []
        for san in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                names.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def write_pki(directory, server_names):
    """Write ca.crt, apiserver.{crt,key}, <client>.{crt,key}, sa.{key,pub}; return {stem: path}."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    ca_key, ca_cert = make_ca("milvusops-test-ca")
    paths["ca"] = os.path.join(directory, "ca.crt")
    _write(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM))
    identities = {"apiserver": ("kube-apiserver", [], server_names, True)}
    identities.update((stem, (cn, orgs, (), False)) for stem, (cn, orgs) in CLIENTS.items())
    for stem, (cn, orgs, sans, server) in identities.items():
        key, cert = _issue(ca_key, ca_cert, cn, orgs, sans, server)
        paths[stem + ".crt"] = os.path.join(directory, stem + ".crt")
        paths[stem + ".key"] = os.path.join(directory, stem + ".key")
        _write(paths[stem + ".crt"], cert.public_bytes(serialization.Encoding.PEM))
        _write(paths[stem + ".key"], _pem_key(key), private=True)
    sa_key = ec.generate_private_key(ec.SECP256R1())
    paths["sa.key"] = os.path.join(directory, "sa.key")
    paths["sa.pub"] = os.path.join(directory, "sa.pub")
    _write(paths["sa.key"], _pem_key(sa_key), private=True)
    _write(paths["sa.pub"], sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return paths
