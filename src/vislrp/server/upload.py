"""Reading an upload into memory with a hard size cap, before anything is decoded.

The body is streamed and counted; past the cap the request is refused with 413 without reading the
rest. Multipart bodies are parsed in memory (nothing is spooled to a temporary file), so an upload
writes nothing to disk at all.
"""

from __future__ import annotations

import unicodedata

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

MAX_NAME = 120
"""Longest file name kept for display; longer ones are cut."""
MULTIPART_OVERHEAD = 64 * 1024
"""Bytes a multipart body may take beyond its file (boundaries, part headers): the read cap is the file's plus this."""
UPLOAD_OPENAPI: dict[str, object] = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
"""An upload route's ``openapi_extra``: the route reads its body itself (capped), so FastAPI cannot describe it."""


class UploadTooLarge(ValueError):
    """A body or file over its size cap (HTTP 413)."""


class BadUpload(ValueError):
    """A body that holds no readable file (HTTP 400)."""


async def read_capped(request: Request, cap: int) -> bytes:
    """The request body, or UploadTooLarge as soon as it exceeds ``cap`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise UploadTooLarge(f"the upload is {int(declared) / 2**20:.1f} MB, over the {cap // 2**20} MB limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise UploadTooLarge(f"the upload is over the {cap // 2**20} MB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def clean_name(name: str) -> str:
    """A file name fit to echo back: no directories, no control or format characters (NUL, bidi
    overrides), at most MAX_NAME characters; "upload" when nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return kept[:MAX_NAME] or "upload"


def file_from_body(content_type: str, body: bytes) -> tuple[bytes, str]:
    """The uploaded file's bytes and name: the first file part of a multipart body, or the raw body."""
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        if not body:
            raise BadUpload("the upload is empty")
        return body, "upload"
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload("multipart upload without a boundary")

    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1][0][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:  # the parser raises its own error types for malformed bodies
        raise BadUpload(f"malformed multipart upload: {exc}") from None
    for headers, data in parts:
        _, disp = parse_options_header(headers.get(b"content-disposition", b""))
        if b"filename" in disp or disp.get(b"name") == b"file":
            name = disp.get(b"filename", b"upload").decode("utf-8", "replace")
            if not data:
                raise BadUpload(f"{name or 'the upload'} is empty")
            return bytes(data), clean_name(name)
    raise BadUpload("the multipart upload has no file part (expected a field named 'file')")
