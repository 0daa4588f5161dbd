"""The portal: the web pages witness officers, supervision bodies, bidders in a dispute and
the public use, served by the API's app under /portal (the public's pages also from /),
rendered on the server (Jinja2) with a little plain JavaScript, Chinese by default and
English by a switch. A page reads through the same visibility filter as the API
(projections/visibility.py): it never shows what the same caller could not read there."""

from fastapi import APIRouter

from . import pages, replay, session, supervision, witnessing
from .pages import static_files

router = APIRouter()
router.include_router(pages.router)
router.include_router(session.router)
router.include_router(witnessing.router)
router.include_router(supervision.router)
router.include_router(replay.router)

__all__ = ["router", "static_files"]
