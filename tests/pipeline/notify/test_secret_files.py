"""Webhook secret files are read only inside the secrets folder (issue 15, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.model.webhooks import SecretSource
from kargo.notify.signing import SecretUnavailable, read_secret


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A state folder with the admin token beside the secrets folder."""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hook.secret").write_text("whsec_inside\n")
    (tmp_path / "admin.token").write_text("kargo_the-admin-token\n")
    return tmp_path


def test_a_file_in_the_secrets_folder_is_read(state: Path) -> None:
    assert read_secret(SecretSource(file="hook.secret"), state / "secrets") == "whsec_inside"
    absolute = SecretSource(file=str(state / "secrets" / "hook.secret"))
    assert read_secret(absolute, state / "secrets") == "whsec_inside"


@pytest.mark.parametrize("reference", ["../admin.token", "{state}/admin.token", "link"])
def test_a_file_outside_the_secrets_folder_is_never_read(state: Path, reference: str) -> None:
    (state / "secrets" / "link").symlink_to(state / "admin.token")
    source = SecretSource(file=reference.format(state=state))
    with pytest.raises(SecretUnavailable, match="outside the secrets folder") as caught:
        read_secret(source, state / "secrets")
    assert "the-admin-token" not in str(caught.value)
