"""Townspeople and their commissions: request text plus a hidden six-dim target."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from kotone.domain.errors import DataError, NotFoundError
from kotone.domain.params import Params


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Townsperson(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,30}$")
    name: str = Field(min_length=1, max_length=40)
    personality: str = Field(min_length=1, max_length=200)
    portrait: str = Field(min_length=1, max_length=8, description="an emoji")
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class TagRules(_Strict):
    required: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)


class Preference(_Strict):
    likes: list[str] = Field(default_factory=list)
    dislikes: list[str] = Field(default_factory=list)
    note: str = Field("", max_length=120, description="what the client says, e.g. 'hates synths'")


class Commission(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]{2,40}$")
    townsperson: str
    text: str = Field(min_length=3, max_length=1000)
    target: Params
    tags: TagRules = TagRules()
    preference: Preference = Preference()
    reward: int = Field(ge=0, le=10_000)
    difficulty: int = Field(ge=1, le=5)


class CommissionBook:
    """Townspeople and commissions validated together against the tag vocabulary."""

    def __init__(
        self,
        people: Iterable[Townsperson],
        commissions: Iterable[Commission],
        tags: Iterable[str],
    ):
        vocab = frozenset(tags)
        self.people: dict[str, Townsperson] = {}
        for p in people:
            if p.id in self.people:
                raise DataError(f"duplicate townsperson id {p.id!r}")
            self.people[p.id] = p
        self.commissions: dict[str, Commission] = {}
        for c in commissions:
            if c.id in self.commissions:
                raise DataError(f"duplicate commission id {c.id!r}")
            if c.townsperson not in self.people:
                raise DataError(f"commission {c.id!r} names unknown townsperson {c.townsperson!r}")
            used = [
                *c.tags.required,
                *c.tags.optional,
                *c.tags.forbidden,
                *c.preference.likes,
                *c.preference.dislikes,
            ]
            unknown = [t for t in used if t not in vocab]
            if unknown:
                raise DataError(f"commission {c.id!r} uses unknown tags {unknown!r}")
            self.commissions[c.id] = c

    @classmethod
    def from_dicts(
        cls,
        people: Iterable[Mapping[str, object]],
        commissions: Iterable[Mapping[str, object]],
        tags: Iterable[str],
    ) -> CommissionBook:
        try:
            ppl = [Townsperson.model_validate(p) for p in people]
        except ValueError as exc:
            raise DataError(f"townspeople data is invalid: {exc}") from exc
        comms = []
        for i, row in enumerate(commissions):
            try:
                comms.append(Commission.model_validate(row))
            except ValueError as exc:
                ident = row.get("id", f"#{i}") if isinstance(row, Mapping) else f"#{i}"
                raise DataError(f"commission {ident!r} is invalid: {exc}") from exc
        return cls(ppl, comms, tags)

    def get(self, commission_id: str) -> Commission:
        try:
            return self.commissions[commission_id]
        except KeyError:
            raise NotFoundError(f"unknown commission id {str(commission_id)[:40]!r}") from None

    def person(self, person_id: str) -> Townsperson:
        try:
            return self.people[person_id]
        except KeyError:
            raise NotFoundError(f"unknown townsperson id {person_id!r}") from None
