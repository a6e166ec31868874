"""Model zoo: pretrained CNNs, their preprocessing and labels, and safe image loading."""

from vislrp.zoo.images import (
    DEFAULT_SAMPLE,
    MAX_BYTES,
    MAX_PIXELS,
    SAMPLES,
    ImageError,
    ImageHeader,
    ImageTooLarge,
    UnknownSampleError,
    list_samples,
    load_image,
    load_sample,
    read_header,
    sample_available,
)
from vislrp.zoo.labels import imagenet_labels
from vislrp.zoo.models import (
    DEFAULT_MODEL,
    ModelInfo,
    Prediction,
    UnknownModelError,
    WeightsError,
    ZooModel,
    list_models,
    load_model,
)
from vislrp.zoo.preprocessing import IMAGENET, TF_LITE, Preprocess

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SAMPLE",
    "IMAGENET",
    "MAX_BYTES",
    "MAX_PIXELS",
    "SAMPLES",
    "TF_LITE",
    "ImageError",
    "ImageHeader",
    "ImageTooLarge",
    "ModelInfo",
    "Prediction",
    "Preprocess",
    "UnknownModelError",
    "UnknownSampleError",
    "WeightsError",
    "ZooModel",
    "imagenet_labels",
    "list_models",
    "list_samples",
    "load_image",
    "load_model",
    "load_sample",
    "read_header",
    "sample_available",
]
