"""The visits API: one router made of the care side and the field side."""

from fastapi import APIRouter

from server.visits.routes_care import router as care_router
from server.visits.routes_field import router as field_router

router = APIRouter()
router.include_router(care_router)
router.include_router(field_router)
