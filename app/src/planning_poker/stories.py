"""Stories a room estimates, their results, and the CSV import and export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from planning_poker.errors import ErrorCode, RoomError
from planning_poker.rounds import MAX_ROUNDS_PER_STORY, seconds_spent

MAX_TITLE_LENGTH = 200
MAX_LINK_LENGTH = 500
MAX_ESTIMATE_LENGTH = 8
MAX_STORIES = 500
EXPORT_HEADER = [
    "story",
    "final estimate",
    "votes",
    "average",
    "median",
    "agreement",
    "time",
    "round",
    "seconds",
]


@dataclass
class Story:
    """A story: its title, an optional link, every revealed round and the final estimate."""

    id: str
    title: str
    link: str | None = None
    estimate: str | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def result(self) -> dict[str, Any] | None:
        """The latest revealed round."""
        return self.rounds[-1] if self.rounds else None

    def record(self, revealed_round: dict[str, Any]) -> None:
        """Keep a revealed round (the oldest go once a story has had 50)."""
        self.rounds = [*self.rounds, revealed_round][-MAX_ROUNDS_PER_STORY:]

    def to_json(self) -> dict[str, Any]:
        """The wire and stored form."""
        return {
            "id": self.id,
            "title": self.title,
            "link": self.link,
            "estimate": self.estimate,
            "result": self.result,
            "rounds": self.rounds,
            "secondsSpent": seconds_spent(self.rounds),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Story:
        """Read the stored form (a story stored before rounds were kept has its one result)."""
        rounds = doc.get("rounds")
        if rounds is None:
            rounds = [doc["result"]] if doc.get("result") else []
        return cls(
            id=doc["id"],
            title=doc["title"],
            link=doc.get("link"),
            estimate=doc.get("estimate"),
            rounds=list(rounds),
        )


def clean_title(raw: object) -> str:
    """A story title: trimmed text, not empty, at most 200 characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise RoomError(ErrorCode.INVALID, "a story needs a title")
    return raw.strip()[:MAX_TITLE_LENGTH]


def clean_link(raw: object) -> str | None:
    """An optional http(s) link; anything else is refused so it cannot run script."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or len(raw) > MAX_LINK_LENGTH:
        raise RoomError(ErrorCode.INVALID, "a link must be a string of at most 500 characters")
    link = raw.strip()
    if not link.lower().startswith(("http://", "https://")):
        raise RoomError(ErrorCode.INVALID, "a link must start with http:// or https://")
    return link


def clean_estimate(raw: object) -> str | None:
    """A final estimate: any short text (it need not be a card), or None to clear it."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw.strip()) > MAX_ESTIMATE_LENGTH:
        raise RoomError(ErrorCode.INVALID, "an estimate is text of at most 8 characters")
    return raw.strip() or None


def parse_stories_csv(text: str) -> list[tuple[str, str | None]]:
    """Rows of `title,link` (a header row `title,link` is skipped), validated."""
    rows: list[tuple[str, str | None]] = []
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RoomError(ErrorCode.INVALID, f"the CSV cannot be read: {exc}") from exc
    for number, record in enumerate(records, start=1):
        if not record or not any(cell.strip() for cell in record):
            continue
        if number == 1 and [c.strip().lower() for c in record[:2]] == ["title", "link"]:
            continue
        try:
            title = clean_title(record[0])
            link = clean_link(record[1] if len(record) > 1 else None)
        except RoomError as exc:
            raise RoomError(ErrorCode.INVALID, f"CSV line {number}: {exc.message}") from exc
        rows.append((title, link))
    if len(rows) > MAX_STORIES:
        raise RoomError(ErrorCode.INVALID, f"at most {MAX_STORIES} stories can be imported")
    return rows


def export_csv(stories: list[Story]) -> str:
    """The results as CSV: one line per revealed round, newest last (one for a story without)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for story in stories:
        for result in story.rounds or [{}]:
            votes = "; ".join(f"{name}: {card}" for name, card in result.get("votes", []))
            revealed_at = result.get("revealedAt")
            when = datetime.fromtimestamp(revealed_at, UTC).isoformat() if revealed_at else ""
            writer.writerow(
                [
                    _safe_cell(story.title),
                    _safe_cell(story.estimate or ""),
                    _safe_cell(votes),
                    _blank_none(result.get("average")),
                    _blank_none(result.get("median")),
                    _blank_none(result.get("agreement")),
                    when,
                    _blank_none(result.get("round")),
                    _blank_none(result.get("seconds")),
                ]
            )
    return out.getvalue()


def _blank_none(value: object) -> str:
    return "" if value is None else str(value)


def _safe_cell(text: str) -> str:
    """Defuse spreadsheet formulas in user text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
