"""The chat page, our static files and the npm libraries under /vendor/."""

from __future__ import annotations

from chatbot_common.contract import valid_id
from chatbot_common.errors import NotFoundError
from fastapi import APIRouter
from fastapi.responses import FileResponse

from ... import vendor
from ..deps import SettingsDep

router = APIRouter(tags=["pages"])

_NO_CACHE = {"Cache-Control": "no-cache"}
_JS = "text/javascript; charset=utf-8"


@router.get("/", include_in_schema=False)
async def index(settings: SettingsDep) -> FileResponse:
    return FileResponse(settings.static_dir / "index.html", headers=_NO_CACHE)


@router.get("/c/{conversation_id}", include_in_schema=False)
async def conversation_page(conversation_id: str, settings: SettingsDep) -> FileResponse:
    """Links to a conversation load the same page; the script reads the id from the URL.
    An id that cannot be ours is not found (404 ``not_found``), as everywhere."""
    if not valid_id(conversation_id):
        raise NotFoundError("no such conversation")
    return FileResponse(settings.static_dir / "index.html", headers=_NO_CACHE)


@router.get("/s/{share_id}", include_in_schema=False)
async def share_page(share_id: str, settings: SettingsDep) -> FileResponse:
    """A share link: the read-only page; it reads the snapshot with ``share.get``."""
    return FileResponse(settings.static_dir / "share.html", headers=_NO_CACHE)


@router.get("/admin", include_in_schema=False)
async def admin_page(settings: SettingsDep) -> FileResponse:
    """The operator's view; its data comes from admin events only admins may call."""
    return FileResponse(settings.static_dir / "admin.html", headers=_NO_CACHE)


@router.get("/vendor/{package}/{path:path}", include_in_schema=False)
async def vendor_file(package: str, path: str, settings: SettingsDep) -> FileResponse:
    target = vendor.resolve(settings.node_modules, package, path)
    media_type = _JS if target.suffix in {".js", ".mjs"} else vendor.MEDIA_TYPES.get(target.suffix)
    return FileResponse(target, media_type=media_type, headers=_NO_CACHE)
