"""The template editor: administrators draw and check form templates over the blank form.

``/templates`` lists the templates the settings point to and the drafts; uploading a picture of a
blank form makes a draft (``segmentation.template_draft``); the editor page moves, resizes, adds
and deletes fields over the reference picture (``static/template_editor.js``), asks
``/templates/validate`` for the problems while you work and ``/templates/save`` to write the
template. Files and JSON are ``review.template_files``' business; these routes only translate.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from digitize.errors import BadInputError
from review import template_files as files
from review.deps import AdminUser, admin_guard
from review.rendering import flash, render

router = APIRouter(
    prefix="/templates", dependencies=[Depends(admin_guard)], include_in_schema=False
)


class SourceIn(BaseModel):
    kind: Literal["template", "draft"]
    key: str = Field(min_length=1, max_length=200)


class EditIn(BaseModel):
    """What the editor posts: what it has open and the template JSON as it stands."""

    source: SourceIn
    template: dict[str, Any]


def _path(request: Request, route: str, **params: str) -> str:
    return str(request.app.url_path_for(route, **params))


def _source(body: EditIn) -> files.Source:
    return files.Source(body.source.kind, body.source.key)


@router.get("", name="template_index")
def template_index(request: Request, user: AdminUser) -> Response:
    settings = request.app.state.settings
    return render(
        request,
        "template_index.html",
        {
            "nav": "templates",
            "templates": files.list_templates(settings),
            "drafts": files.list_drafts(settings),
            "folder": files.template_folder(settings),
        },
    )


@router.post("/drafts", name="template_draft_new")
async def draft_new(
    request: Request,
    user: AdminUser,
    picture: Annotated[UploadFile, File()],
    name: Annotated[str, Form()] = "",
) -> Response:
    settings = request.app.state.settings
    data = await picture.read(settings.max_file_bytes + 1)
    try:
        filename = picture.filename or "upload"
        draft_id = await run_in_threadpool(files.create_draft, settings, data, filename, name)
    except BadInputError as exc:
        flash(request, "error", f"No draft: {exc}")
        return RedirectResponse(_path(request, "template_index"), status_code=303)
    return RedirectResponse(_path(request, "template_draft", draft_id=draft_id), status_code=303)


@router.post("/drafts/{draft_id}/delete", name="template_draft_delete")
def draft_delete(request: Request, user: AdminUser, draft_id: str) -> Response:
    files.delete_draft(request.app.state.settings, draft_id)
    flash(request, "info", "Draft deleted.")
    return RedirectResponse(_path(request, "template_index"), status_code=303)


def _editor(request: Request, source: files.Source, picture_url: str) -> Response:
    data = files.open_source(request.app.state.settings, source)
    return render(
        request,
        "template_editor.html",
        {
            "nav": "templates",
            "body_class": "tpl-editor",
            "source": asdict(source),
            "data": data,
            "picture_url": picture_url,
        },
    )


@router.get("/drafts/{draft_id}", name="template_draft")
def draft_page(request: Request, user: AdminUser, draft_id: str) -> Response:
    url = _path(request, "template_draft_picture", draft_id=draft_id)
    return _editor(request, files.Source("draft", draft_id), url)


@router.get("/edit/{name}", name="template_edit")
def edit_page(request: Request, user: AdminUser, name: str) -> Response:
    url = _path(request, "template_picture", name=name)
    return _editor(request, files.Source("template", name), url)


def _picture(request: Request, source: files.Source) -> Response:
    raw, media = files.reference_picture(request.app.state.settings, source)
    return Response(raw, media_type=media, headers={"cache-control": "private, max-age=300"})


@router.get("/drafts/{draft_id}/picture", name="template_draft_picture")
def draft_picture(request: Request, user: AdminUser, draft_id: str) -> Response:
    return _picture(request, files.Source("draft", draft_id))


@router.get("/edit/{name}/picture", name="template_picture")
def template_picture(request: Request, user: AdminUser, name: str) -> Response:
    return _picture(request, files.Source("template", name))


@router.post("/validate", name="template_validate")
def validate(request: Request, user: AdminUser, body: EditIn) -> Response:
    found = files.problems(request.app.state.settings, _source(body), body.template)
    return JSONResponse({"problems": [asdict(p) for p in found]})


@router.post("/save", name="template_save")
def save(request: Request, user: AdminUser, body: EditIn) -> Response:
    out = files.save(request.app.state.settings, _source(body), body.template)
    if isinstance(out, list):
        return JSONResponse({"saved": False, "problems": [asdict(p) for p in out]}, status_code=422)
    url = _path(request, "template_edit", name=out.name)
    return JSONResponse(
        {
            "saved": True,
            "name": out.name,
            "path": str(out.path),
            "edit_url": url,
            "picture_url": _path(request, "template_picture", name=out.name),
        }
    )
