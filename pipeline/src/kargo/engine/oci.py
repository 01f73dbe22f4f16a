"""A client of the OCI Distribution API v2: tags, manifests and image configs, anonymous or token.

Authentication as registries ask for it: a 401 with `WWW-Authenticate: Bearer realm=…` gets a
token from the realm (with the repository's credentials, if any, as basic auth); `Basic` gets
the credentials themselves. Loopback registries are reached over plain HTTP (as docker treats
`localhost`), every other one over HTTPS. Errors never carry credentials or tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from kargo.steps.repocreds import RegistryCredentials
from kargo.tls import client_tls

DOCKER_HUB = "registry-1.docker.io"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """The registry could not be reached or refused the request."""


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (or wants some)."""


@dataclass(frozen=True)
class ImageRepository:
    """Where an image repository lives: registry host and repository path."""

    host: str
    path: str

    @classmethod
    def parse(cls, repo_url: str) -> ImageRepository:
        """`registry.example.com/team/app`, `127.0.0.1:5000/app` or Docker Hub's `nginx`."""
        url = repo_url.removeprefix("oci://").removeprefix("https://").removeprefix("http://")
        first, _, rest = url.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest)
        path = url if "/" in url else f"library/{url}"
        return cls(DOCKER_HUB, path)

    @property
    def base(self) -> str:
        """The registry's base address."""
        host = self.host.split(":")[0] if not self.host.startswith("[") else self.host
        scheme = "http" if host in LOOPBACK or self.host.startswith(LOOPBACK) else "https"
        return f"{scheme}://{self.host}"


@dataclass(frozen=True)
class Manifest:
    """A manifest as fetched: its digest, media type and body."""

    digest: str
    media_type: str
    body: dict[str, Any]


class RegistryClient:
    """Reads one image repository."""

    def __init__(
        self,
        repository: ImageRepository,
        credentials: RegistryCredentials | None = None,
        insecure_skip_tls_verify: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.repository = repository
        self.credentials = credentials
        self._token: str | None = None
        self._basic = False
        self._http = httpx.Client(timeout=timeout, verify=client_tls(not insecure_skip_tls_verify))

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _auth(self) -> httpx.BasicAuth | None:
        if self._basic and self.credentials is not None:
            return httpx.BasicAuth(self.credentials.username, self.credentials.password)
        return None

    def _get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        url = f"{self.repository.base}/v2/{path}"
        for attempt in range(2):
            try:
                response = self._http.get(url, headers=self._headers(headers), auth=self._auth())
            except httpx.HTTPError as exc:
                raise RegistryError(
                    f"registry {self.repository.host} is unreachable: {exc.__class__.__name__}"
                ) from exc
            if response.status_code != 401 or attempt == 1:
                break
            self._authenticate(response.headers.get("WWW-Authenticate", ""))
        if response.status_code == 401:
            who = "the configured credentials" if self.credentials else "anonymous access"
            raise RegistryAuthError(
                f"registry {self.repository.host} refused {who} to {self.repository.path}"
            )
        if response.status_code == 403:
            raise RegistryAuthError(
                f"registry {self.repository.host} denied {self.repository.path}"
            )
        return response

    def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if self.credentials is None:
                raise RegistryAuthError(
                    f"registry {self.repository.host} needs credentials for {self.repository.path}"
                    " (an image Secret with its repoURL)"
                )
            self._basic = True
            return
        if scheme != "bearer":
            raise RegistryAuthError(f"registry {self.repository.host}: unknown auth {scheme!r}")
        fields = dict(_CHALLENGE.findall(challenge))
        realm = fields.get("realm")
        if not realm:
            raise RegistryAuthError(
                f"registry {self.repository.host}: bearer challenge has no realm"
            )
        params = {"service": fields.get("service", "")}
        params["scope"] = fields.get("scope") or f"repository:{self.repository.path}:pull"
        auth = None
        if self.credentials is not None:
            auth = httpx.BasicAuth(self.credentials.username, self.credentials.password)
        try:
            answer = self._http.get(realm, params=params, auth=auth)
        except httpx.HTTPError as exc:
            raise RegistryError(f"token service of {self.repository.host} is unreachable") from exc
        if answer.status_code in (401, 403):
            raise RegistryAuthError(
                f"token service of {self.repository.host} refused the credentials "
                f"for {self.repository.path}"
            )
        if answer.status_code != 200:
            raise RegistryError(
                f"token service of {self.repository.host}: HTTP {answer.status_code}"
            )
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"token service of {self.repository.host} gave no token")
        self._token = str(token)

    def _checked(self, response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code == 404:
            raise RegistryError(
                f"{what}: not found in {self.repository.host}/{self.repository.path}"
            )
        if response.status_code >= 400:
            raise RegistryError(
                f"{what}: registry {self.repository.host} answered {response.status_code}"
            )
        return response

    def tags(self) -> list[str]:
        """Every tag of the repository (following `Link` pagination)."""
        found: list[str] = []
        path = f"{self.repository.path}/tags/list?n=1000"
        while path:
            response = self._checked(self._get(path), "tags")
            found.extend(response.json().get("tags") or [])
            link = response.headers.get("Link", "")
            match = re.search(r"<([^>]+)>", link)
            path = match.group(1).removeprefix("/v2/") if match else ""
        return found

    def manifest(self, reference: str) -> Manifest:
        """The manifest (or index) a tag or digest names."""
        response = self._checked(
            self._get(
                f"{self.repository.path}/manifests/{reference}",
                {"Accept": ", ".join(MANIFEST_TYPES)},
            ),
            f"manifest {reference}",
        )
        digest = response.headers.get("Docker-Content-Digest") or (
            "sha256:" + hashlib.sha256(response.content).hexdigest()
        )
        body = json.loads(response.content)
        media_type = body.get("mediaType") or response.headers.get("Content-Type", "")
        return Manifest(digest, media_type.split(";")[0], body)

    def blob_json(self, digest: str) -> dict[str, Any]:
        """A JSON blob (an image config)."""
        response = self._checked(
            self._get(f"{self.repository.path}/blobs/{digest}"), f"blob {digest}"
        )
        return dict(json.loads(response.content))

    def created(self, manifest: Manifest) -> datetime | None:
        """When the image was built (its config's `created`), if it says."""
        config = manifest.body.get("config") or {}
        if not config.get("digest"):
            return None
        created = self.blob_json(str(config["digest"])).get("created")
        if not created:
            return None
        try:
            return datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError:
            return None
