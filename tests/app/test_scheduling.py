"""The event loop thread's scheduler slice (Linux's EEVDF custom slices)."""

from __future__ import annotations

import os
import platform
import threading

import pytest
from planning_poker.scheduling import request_slice, slice_of
from planning_poker.settings import SettingsError, load_settings


def custom_slices() -> bool:
    """Whether this kernel gives a normal thread the slice it asks for (Linux 6.12 on)."""
    if platform.system() != "Linux":
        return False
    major, minor = (int(part) for part in platform.release().split(".")[:2])
    return (major, minor) >= (6, 12)


@pytest.mark.skipif(not custom_slices(), reason="Linux before 6.12 has no per-thread slice")
def test_a_thread_gets_the_slice_it_asks_for_and_the_others_keep_theirs() -> None:
    seen: dict[str, float] = {}

    def ask() -> None:
        request_slice(0.0005)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
        seen["slice"] = slice_of(threading.get_native_id())

    before = slice_of(threading.get_native_id())
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    asking = threading.Thread(target=ask)
    asking.start()
    asking.join()
    assert seen == {"nice": nice, "slice": pytest.approx(0.0005)}
    assert slice_of(threading.get_native_id()) == before


@pytest.mark.parametrize("seconds", [0.00005, 0.2, -1.0])
def test_a_slice_the_kernel_cannot_give_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="a slice is"):
        request_slice(seconds)


@pytest.mark.parametrize("text", ["0.00005", "0.2", "-1"])
def test_a_slice_setting_out_of_range_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("PLANNING_POKER_SCHEDULER_SLICE_SECONDS", text)
    with pytest.raises(SettingsError, match="scheduler_slice_seconds|SCHEDULER_SLICE_SECONDS"):
        load_settings()


def test_the_slice_setting_takes_zero_for_the_kernels_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNING_POKER_SCHEDULER_SLICE_SECONDS", "0")
    assert load_settings().scheduler_slice_seconds == 0
