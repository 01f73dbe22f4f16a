"""A Kubernetes `Secret` document as read from a configuration folder (never stored as a resource).

Kargo finds repository credentials in Secrets labelled `kargo.akuity.io/cred-type`. Such
documents are accepted in the configuration folder and go to the local secret store, not to the
resource store, so no API answer or export can carry them. Their repr shows no values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from kargo.model.base import Named, ObjectMeta, StrictModel


class SecretDocument(StrictModel, Named):
    """A `v1` Secret: metadata, `type`, and `data` (base64) or `stringData` (text)."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Secret"] = "Secret"
    metadata: ObjectMeta
    type: str = "Opaque"
    data: dict[str, SecretStr] = Field(default_factory=dict)
    string_data: dict[str, SecretStr] = Field(default_factory=dict)
    immutable: bool | None = None

    def revealed(self) -> dict[str, Any]:
        """The document with its values, for the secret store only."""
        return {
            "metadata": {
                "name": self.metadata.name,
                "namespace": self.metadata.namespace,
                "labels": dict(self.metadata.labels),
            },
            "data": {k: v.get_secret_value() for k, v in self.data.items()},
            "stringData": {k: v.get_secret_value() for k, v in self.string_data.items()},
        }
