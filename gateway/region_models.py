"""What a read answer adds in a region: where its figures come from and how fresh they are."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RegionalAnswer(BaseModel):
    """What a read says about where its answer comes from (README "Regions")."""

    home_region: str | None = Field(
        default=None,
        description="with regions: the region whose journal holds the account's latest state "
        "(its home); null without regions",
    )
    as_of_ms: int | None = Field(
        default=None,
        description="with regions: when the last event this answer reflects was decided at the "
        "home (null for an account never seen)",
    )
    replication_lag_ms: int | None = Field(
        default=None,
        description="with regions: how far behind its home this region's copy of the home's "
        "journal is, at least (0 at home); grows while the link from the home is down",
    )
