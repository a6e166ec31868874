"""The server's errors and one table from each error bad input can cause to its HTTP status, for routes and jobs alike.

A route that raises one of these answers with its status and the message in ``detail`` (the app installs a handler
per type); a job that raises one ends ``failed`` with the same status in ``error_status``, and a job whose request
fails its checks before it starts is refused with that status. Anything else is a real failure (500).

The server's own error types are defined here, not beside the code that raises them, so this module imports no
other server module but the upload reader: every route, service and the job runtime can import it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from vislrp.analysis import ChannelError, EmptyMaskError, LayerChoiceError
from vislrp.analysis.flow import FlowError
from vislrp.lrp import ConfigError, StartRuleError
from vislrp.server.upload import BadUpload, UploadTooLarge
from vislrp.store import InvalidModelError, NameConflictError, StoreUnavailableError, UnknownModelIdError
from vislrp.store.photos import UnknownPhotoError
from vislrp.zoo import ImageError, ImageTooLarge, UnknownModelError, UnknownSampleError, WeightsError


class ApiError(Exception):
    """An error a route answers with an explicit status (where no error type of the table fits)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class UnknownImageError(KeyError):
    """An image id the server does not hold (never uploaded, or dropped from the bounded image cache)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown image"


class ClassIndexError(ValueError):
    """A class index outside the network's outputs."""


class MaskError(ValueError):
    """A flip mask that cannot be decoded or does not match the image."""


class MetricsError(MaskError):
    """A metrics request that cannot run as asked (a region metric without a region, too many steps)."""


class LandscapeError(ValueError):
    """A landscape request that cannot run (too many points, an axis the draft cannot take): HTTP 422."""


class NetworkChoiceError(ValueError):
    """An unknown network name or weights choice."""


class BodyTimeout(Exception):
    """A request body that did not arrive in full within the server's time limit (a stalled or trickling client)."""


class DecodeBusy(Exception):
    """An upload that waited too long for memory (within the budget) or a slot to be decoded in; try again."""


ERROR_STATUS: dict[type[Exception], int] = {
    UnknownImageError: 404,
    UnknownPhotoError: 404,
    UnknownSampleError: 404,
    UnknownModelIdError: 404,
    NameConflictError: 409,
    ImageTooLarge: 413,
    UploadTooLarge: 413,
    ImageError: 400,
    BadUpload: 400,
    ClassIndexError: 422,
    ConfigError: 422,
    StartRuleError: 422,
    InvalidModelError: 422,
    EmptyMaskError: 422,
    MaskError: 422,
    MetricsError: 422,
    FlowError: 422,
    LayerChoiceError: 422,
    ChannelError: 422,
    LandscapeError: 422,
    NetworkChoiceError: 422,
    UnknownModelError: 422,
    WeightsError: 422,
    StoreUnavailableError: 503,
    DecodeBusy: 503,
    BodyTimeout: 408,
}
"""The HTTP status of each error bad input (or an unavailable store, a stalled body, a busy decoder) can cause;
the message goes in ``detail``."""


def error_status(exc: BaseException) -> int | None:
    """The status of ``exc`` by the table (its most specific class listed there), or None for a real failure."""
    return next((ERROR_STATUS[t] for t in type(exc).__mro__ if t in ERROR_STATUS), None)


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """The OpenAPI ``responses`` of a route or router that may answer ``codes`` with an :class:`ErrorResponse`."""
    return {code: {"model": ErrorResponse} for code in codes}


API_ERRORS = error_responses(400, 404, 409, 413, 422)
"""What the designer's plain ``/api`` routes declare they may answer besides success."""
STORE_ERRORS = error_responses(503)
"""What a route that reads or writes a store (models, photos) may answer besides: the store is unavailable
(:class:`~vislrp.store.StoreUnavailableError`: locked elsewhere too long, data directory gone, disk full)."""


__all__ = [
    "API_ERRORS",
    "ERROR_STATUS",
    "STORE_ERRORS",
    "ApiError",
    "BodyTimeout",
    "ClassIndexError",
    "DecodeBusy",
    "ErrorResponse",
    "LandscapeError",
    "MaskError",
    "MetricsError",
    "NetworkChoiceError",
    "UnknownImageError",
    "error_responses",
    "error_status",
]
