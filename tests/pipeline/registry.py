"""A real OCI registry for tests: Debian's docker-registry (CNCF distribution) on loopback.

`registry()` starts it with a config in a temporary folder on a free port, anonymous or behind
a token service (`token_auth=True`: a loopback token server signs RS256 JWTs with a key and
certificate made by openssl, as a real token service does). Images are pushed through the
Distribution API itself: blob uploads, then manifest and index PUTs.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.services import free_port, require_binary, running

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
USER, PASSWORD = "robot", "s3cret-registry-password"


@dataclass
class Registry:
    """A running registry: its host (`127.0.0.1:port`) and a client that may push."""

    host: str
    client: httpx.Client
    _manifests: dict[str, bytes] = field(default_factory=dict)

    def push_blob(self, repo: str, data: bytes) -> str:
        """Upload a blob (monolithic upload); return its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        started = self.client.post(f"http://{self.host}/v2/{repo}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        separator = "&" if "?" in location else "?"
        done = self.client.put(
            f"{location}{separator}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return digest

    def push_image(
        self,
        repo: str,
        tag: str,
        created: str = "2026-01-01T00:00:00Z",
        platform: str = "linux/amd64",
    ) -> str:
        """Push a one-layer image under a tag; return its manifest digest."""
        digest, _ = self._image(repo, tag, created, platform)
        self._put_manifest(repo, tag, self._manifests[digest], OCI_MANIFEST)
        return digest

    def push_index(self, repo: str, tag: str, platforms: list[str]) -> tuple[str, dict[str, str]]:
        """Push a multi-platform index; return its digest and each platform's manifest digest."""
        entries, digests = [], {}
        for platform in platforms:
            digest, size = self._image(repo, f"{tag}-{platform}", "2026-01-01T00:00:00Z", platform)
            self._put_manifest(repo, digest, self._manifests[digest], OCI_MANIFEST)
            os_name, arch = platform.split("/")[:2]
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
            digests[platform] = digest
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        ).encode()
        self._put_manifest(repo, tag, index, OCI_INDEX)
        return "sha256:" + hashlib.sha256(index).hexdigest(), digests

    def _image(self, repo: str, seed: str, created: str, platform: str) -> tuple[str, int]:
        os_name, arch = platform.split("/")[:2]
        layer = f"layer of {repo}:{seed}".encode()
        layer_digest = self.push_blob(repo, layer)
        config = json.dumps(
            {
                "architecture": arch,
                "os": os_name,
                "created": created,
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
                "config": {},
            }
        ).encode()
        config_digest = self.push_blob(repo, config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest,
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        self._manifests[digest] = manifest
        return digest, len(manifest)

    def _put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> None:
        done = self.client.put(
            f"http://{self.host}/v2/{repo}/manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
        )
        assert done.status_code == 201, done.text


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _TokenService:
    """Issues registry tokens to USER/PASSWORD (RS256 JWTs signed with openssl)."""

    def __init__(self, folder: Path, service: str) -> None:
        self.folder = folder
        self.service = service
        self.key = folder / "token.key"
        self.cert = folder / "token.crt"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=token-issuer", "-keyout", str(self.key), "-out", str(self.cert),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self.x5c = base64.b64encode(der).decode()
        self.issued = 0

    def token(self, scope: str) -> str:
        now = int(time.time())
        access: list[dict[str, Any]] = []
        if scope:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {
            "iss": "test-issuer",
            "sub": USER,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": f"t{now}{self.issued}",
            "access": access,
        }
        self.issued += 1
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"


def _token_handler(service: _TokenService) -> type[http.server.BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.end_headers()
                return
            scope = httpx.QueryParams(self.path.partition("?")[2]).get("scope", "")
            body = json.dumps({"token": service.token(scope)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


@contextmanager
def registry(folder: Path, token_auth: bool = False) -> Iterator[Registry]:
    """A docker-registry on a free loopback port (anonymous, or behind a token service)."""
    binary = require_binary("docker-registry")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(folder / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-only-upload-secret"},
    }
    server: http.server.ThreadingHTTPServer | None = None
    auth: tuple[str, str] | None = None
    if token_auth:
        service = _TokenService(folder, f"127.0.0.1:{port}")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(service))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        config["auth"] = {
            "token": {
                "realm": f"http://127.0.0.1:{server.server_address[1]}/token",
                "service": f"127.0.0.1:{port}",
                "issuer": "test-issuer",
                "rootcertbundle": str(service.cert),
            }
        }
        auth = (USER, PASSWORD)
    (folder / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    ready = f"http://127.0.0.1:{port}/"
    try:
        with running([binary, "serve", str(folder / "config.yml")], ready):
            with _pushing_client(f"127.0.0.1:{port}", auth) as client:
                yield Registry(f"127.0.0.1:{port}", client)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


@contextmanager
def _pushing_client(host: str, auth: tuple[str, str] | None) -> Iterator[httpx.Client]:
    """A client that answers the registry's bearer challenges with push+pull tokens."""

    class TokenAuth(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Any:
            response = yield request
            if response.status_code != 401 or auth is None:
                return
            challenge = response.headers.get("WWW-Authenticate", "")
            fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            scope = fields.get("scope", "")
            if scope.endswith(":pull"):
                scope += ",push"
            token = httpx.get(
                fields["realm"],
                params={"service": fields["service"], "scope": scope},
                auth=auth,
            ).json()["token"]
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    with httpx.Client(auth=TokenAuth(), timeout=10.0) as client:
        yield client
