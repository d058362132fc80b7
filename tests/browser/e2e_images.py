"""Image helpers: decode PNG bytes, decide whether a picture is blank, and
whether two pictures differ."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

# A picture counts as "not blank" when its grey levels vary (std) by more than
# this, and enough pixels differ from the most common (background) colour.
MIN_STD = 3.0
MIN_FOREGROUND_FRACTION = 0.002  # 0.2 % of the pixels
# Two pictures count as "different" when at least this many pixels differ.
MIN_CHANGED_PIXELS = 20


@dataclass
class Picture:
    pixels: np.ndarray  # H x W x 3, uint8

    @classmethod
    def from_bytes(cls, data: bytes) -> Picture:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            return cls(np.asarray(im.convert("RGB"), dtype=np.uint8))

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.pixels.shape[:2]
        return w, h

    def stats(self) -> dict:
        px = self.pixels.reshape(-1, 3)
        grey = px.astype(np.float32).mean(axis=1)
        if px.shape[0] == 0:
            return {"std": 0.0, "foreground": 0.0, "size": self.size}
        # Most common colour = background.
        packed = (px[:, 0].astype(np.uint32) << 16) | (px[:, 1].astype(np.uint32) << 8) | px[:, 2]
        values, counts = np.unique(packed, return_counts=True)
        background_share = counts.max() / packed.size
        return {
            "std": float(grey.std()),
            "foreground": float(1.0 - background_share),
            "colours": int(values.size),
            "size": self.size,
        }

    def blank_reason(self) -> str | None:
        """None if the picture shows something, else why it looks blank."""
        w, h = self.size
        if w < 8 or h < 8:
            return f"picture is only {w}x{h} px"
        s = self.stats()
        if s["std"] < MIN_STD:
            return f"picture has almost no contrast (grey std {s['std']:.2f} < {MIN_STD})"
        if s["foreground"] < MIN_FOREGROUND_FRACTION:
            return (
                f"picture is {100 * (1 - s['foreground']):.2f}% one colour "
                f"(foreground {s['foreground']:.4f} < {MIN_FOREGROUND_FRACTION})"
            )
        return None

    def changed_pixels(self, other: Picture) -> int:
        if self.pixels.shape != other.pixels.shape:
            return max(self.pixels.size, other.pixels.size) // 3
        diff = np.abs(self.pixels.astype(np.int16) - other.pixels.astype(np.int16)).max(axis=2)
        return int((diff > 8).sum())

    def differs_from(self, other: Picture) -> bool:
        return self.changed_pixels(other) >= MIN_CHANGED_PIXELS
