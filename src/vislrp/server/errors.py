"""One table from the errors bad input can cause to their HTTP status, for routes and jobs alike.

A route that raises one of these answers with its status and the message in ``detail`` (the app installs a handler
per type); a job that raises one ends ``failed`` with the same status in ``error_status``, and a job whose request
fails its checks before it starts is refused with that status. Anything else is a real failure (500).
"""

from __future__ import annotations

from vislrp.analysis import ChannelError, EmptyMaskError, LayerChoiceError
from vislrp.analysis.flow import FlowError
from vislrp.lrp import ConfigError
from vislrp.server.analysis import MaskError, MetricsError
from vislrp.server.landscape import LandscapeError
from vislrp.server.networks import NetworkChoiceError
from vislrp.server.service import ClassIndexError, UnknownImageError
from vislrp.server.upload import BadUpload, UploadTooLarge
from vislrp.store import InvalidModelError, NameConflictError, StoreUnavailableError, UnknownModelIdError
from vislrp.store.photos import UnknownPhotoError
from vislrp.zoo import ImageError, ImageTooLarge, UnknownModelError, UnknownSampleError, WeightsError

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
}
"""The HTTP status of each error bad input (or an unavailable store) can cause; the message goes in ``detail``."""


def error_status(exc: BaseException) -> int | None:
    """The status of ``exc`` by the table (its most specific class listed there), or None for a real failure."""
    return next((ERROR_STATUS[t] for t in type(exc).__mro__ if t in ERROR_STATUS), None)


__all__ = ["ERROR_STATUS", "error_status"]
