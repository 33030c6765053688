"""Staff endpoints: the triage feed and single items."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from suggestions.auth import provide_staff
from suggestions.intake.schema import Channel, ExternalId, Status
from suggestions.triage.feed import OPEN_STATUSES, Feed, FeedFilter, triage_feed
from suggestions.triage.items import ItemList, ItemView, item_by_id, items_by_external_id


class StaffController(Controller):
    path = "/api/v1"
    tags = ["staff"]
    dependencies = {"staff": Provide(provide_staff)}
    security = [{"bearer": []}]

    @get("/triage", summary="The triage feed: most urgent first, then oldest")
    async def feed(
        self,
        staff: Any,
        db_connection: Any,
        status: list[Status] | None = None,
        min_risk: Annotated[int | None, Parameter(ge=0, le=3)] = None,
        topic: Annotated[str | None, Parameter(max_length=40)] = None,
        channel: Channel | None = None,
        place: Annotated[str | None, Parameter(min_length=1, max_length=100)] = None,
        needs_review: bool | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> Feed:
        flt = FeedFilter(
            statuses=tuple(status) if status else OPEN_STATUSES,
            min_risk=min_risk,
            topic=topic,
            channel=channel,
            place=place,
            needs_review=needs_review,
        )
        return await triage_feed(db_connection, flt, limit=limit, cursor=cursor)

    @get("/items/{item_id:int}", summary="One item, its text masked, with its classification")
    async def item(self, staff: Any, db_connection: Any, item_id: int) -> ItemView:
        view = await item_by_id(db_connection, item_id)
        if view is None:
            raise NotFoundException("no such item")
        return view

    @get("/items", summary="Items by channel and the sending system's own id")
    async def items(
        self,
        staff: Any,
        db_connection: Any,
        channel: Channel | None = None,
        external_id: ExternalId | None = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 50,
    ) -> ItemList:
        return await items_by_external_id(db_connection, channel=channel, external_id=external_id, limit=limit)
