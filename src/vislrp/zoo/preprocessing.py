"""Image preprocessing: the exact picture and tensor a zoo model sees.

One small frozen object per normalisation convention, so the heatmap shown to the user, the tensor fed to
the network and the pixel bounds used by the ZBox rule can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to ``resize``, centre-crop ``crop``, scale to [0, 1] and normalise."""

    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.crop <= 0 or self.resize < self.crop:
            raise ValueError(f"need 0 < crop <= resize, got resize={self.resize}, crop={self.crop}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("mean and std need three channels and std must be positive")

    def crop_image(self, image: Image.Image) -> Image.Image:
        """The resized and centre-cropped RGB image: what the model sees, for display beside heatmaps."""
        rgb = image.convert("RGB")
        width, height = rgb.size
        if width <= height:
            new_w, new_h = self.resize, max(self.resize, int(self.resize * height / width))
        else:
            new_w, new_h = max(self.resize, int(self.resize * width / height)), self.resize
        left = round((new_w - self.crop) / 2)
        top = round((new_h - self.crop) / 2)
        # Resample only the crop's box of the source: the same pixels as resizing the whole image and
        # cropping (the filter still reads source pixels just outside the box), but the work and memory
        # follow the crop, not the resized image (a 1x20000 image would resize to 256x5,120,000).
        # PIL's bilinear filter widens its support when downscaling, i.e. it is antialiased.
        sx, sy = new_w / width, new_h / height
        box = (left / sx, top / sy, (left + self.crop) / sx, (top + self.crop) / sy)
        return rgb.resize((self.crop, self.crop), Image.Resampling.BILINEAR, box=box)

    def _mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=torch.float32).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(3, 1, 1)
        return mean, std

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """Normalised float32 tensor of shape (3, crop, crop)."""
        pixels = np.asarray(self.crop_image(image), dtype=np.float32) / 255.0
        tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1).contiguous()
        mean, std = self._mean_std()
        return (tensor - mean) / std

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised images of pixel values 0 and 1, each (3, 1, 1): the input box for the ZBox rule."""
        mean, std = self._mean_std()
        return (0.0 - mean) / std, (1.0 - mean) / std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Undo the normalisation of a (3, H, W) tensor, back to [0, 1] pixel scale."""
        if x.dim() != 3 or x.shape[0] != 3:
            raise ValueError(f"expected a (3, H, W) tensor, got shape {tuple(x.shape)}")
        mean, std = self._mean_std()
        return x * std.to(x.device, x.dtype) + mean.to(x.device, x.dtype)


IMAGENET = Preprocess(256, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
"""torchvision's ImageNet models."""

TF_LITE = Preprocess(256, 224, (127 / 255, 127 / 255, 127 / 255), (128 / 255, 128 / 255, 128 / 255))
"""EfficientNet-Lite: TensorFlow-style ``(x - 127) / 128`` on 0..255 pixels."""

DIGITS = Preprocess(32, 32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
"""The digits networks trained here (``digits_cnn``, ``digits_vit``): scikit-learn's 8×8 digits as 8-bit
grey, resized to 32×32 (bilinear), replicated to RGB and mapped from [0, 1] to [-1, 1]."""
