#!/usr/bin/env python3
"""Writes the codec fixtures that Tests/ImagingTests read: one small file per PNG and JPEG flavour rorem decodes,
plus broken files for the error paths. Pixel values follow formulas that the Swift tests recompute, and decoded
references come from Pillow (an independent decoder), so the tests need no Python.

Usage: Scripts/python-env.sh Scripts/requirements-fixtures.txt && .venv/bin/python Scripts/make_image_fixtures.py
"""
import io, math, os, struct, zlib
import numpy as np
import cv2  # reference for area resampling and elliptical morphology
import png  # pypng: every PNG flavour, including 16-bit colour and Adam7
from PIL import Image, ImageOps

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ImagingTests", "Fixtures")
W, H = 13, 9


def v8(x, y, c):
    return (x * 37 + y * 11 + c * 71) % 256


def v16(x, y, c):
    return (x * 3001 + y * 1009 + c * 7919) % 65536


def rows(channels, fn):
    return [[fn(x, y, c) for x in range(W) for c in range(channels)] for y in range(H)]


def write_png(name, rows_, **kw):
    with open(os.path.join(OUT, name), "wb") as f:
        png.Writer(W, H, **kw).write(f, rows_)


def smooth(x, y, c):
    return int(round(128 + 90 * math.sin(x / 5 + c) * math.cos(y / 7)))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_png("gray8.png", rows(1, v8), greyscale=True, bitdepth=8)
    write_png("gray16.png", rows(1, v16), greyscale=True, bitdepth=16)
    write_png("gray1.png", rows(1, lambda x, y, c: (x + y) % 2), greyscale=True, bitdepth=1)
    write_png("gray_alpha8.png", rows(2, v8), greyscale=True, alpha=True, bitdepth=8)
    write_png("gray_alpha16.png", rows(2, v16), greyscale=True, alpha=True, bitdepth=16)
    write_png("rgb8.png", rows(3, v8), greyscale=False, bitdepth=8)
    write_png("rgb16.png", rows(3, v16), greyscale=False, bitdepth=16)
    write_png("rgba8.png", rows(4, v8), greyscale=False, alpha=True, bitdepth=8)
    write_png("rgba16.png", rows(4, v16), greyscale=False, alpha=True, bitdepth=16)
    write_png("rgb8_interlaced.png", rows(3, v8), greyscale=False, bitdepth=8, interlace=True)
    write_png("gray16_interlaced.png", rows(1, v16), greyscale=True, bitdepth=16, interlace=True)
    # Palette: index (x + y) % 16 into a palette of colours v8(i, 0, c); the tRNS variant gives alpha v8(i, 1, 3).
    palette = [tuple(v8(i, 0, c) for c in range(3)) for i in range(16)]
    idx = [[(x + y) % 16 for x in range(W)] for y in range(H)]
    write_png("palette8.png", idx, palette=palette, bitdepth=8)
    write_png("palette4.png", idx, palette=palette, bitdepth=4)
    write_png("palette_trns.png", idx, palette=[p + (v8(i, 1, 3),) for i, p in enumerate(palette)], bitdepth=8)

    # JPEG: a smooth pattern, so that lossy coding stays within a few levels.
    rgb = Image.new("RGB", (W * 3, H * 3))
    rgb.putdata([tuple(smooth(x, y, c) for c in range(3)) for y in range(H * 3) for x in range(W * 3)])
    rgb.save(os.path.join(OUT, "baseline.jpg"), quality=95, subsampling=0)
    rgb.save(os.path.join(OUT, "progressive.jpg"), quality=95, subsampling=0, progressive=True)
    rgb.convert("L").save(os.path.join(OUT, "gray.jpg"), quality=95)
    rgb.convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)
    # EXIF orientation: a red block in the stored top-left corner; each variant's upright reference is Pillow's.
    block = Image.new("RGB", (24, 16), (40, 120, 200))
    block.paste((230, 30, 30), (0, 0, 8, 6))
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = os.path.join(OUT, f"orient{orientation}.jpg")
        block.save(path, quality=95, subsampling=0, exif=exif.tobytes())
        ImageOps.exif_transpose(Image.open(path)).save(os.path.join(OUT, f"orient{orientation}_upright.png"))

    # Broken files.
    good = open(os.path.join(OUT, "rgb8.png"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.png"), "wb").write(good[: len(good) // 2])
    open(os.path.join(OUT, "bad_empty.png"), "wb").write(b"")
    open(os.path.join(OUT, "bad_text.png"), "wb").write(b"this is not an image\n")
    corrupt = bytearray(good)
    i = corrupt.find(b"IDAT") + 10
    corrupt[i:i + 6] = b"\xff\x00\xff\x00\xff\x00"
    open(os.path.join(OUT, "bad_corrupt.png"), "wb").write(bytes(corrupt))
    # A valid PNG header (with a correct CRC) claiming 100000 x 100000 pixels.
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 64)
    chunk += struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    open(os.path.join(OUT, "bad_huge.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + chunk)
    jpg = open(os.path.join(OUT, "baseline.jpg"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.jpg"), "wb").write(jpg[: len(jpg) * 2 // 3])
    # Patch the SOF0 frame header to claim 60000 x 60000.
    huge = bytearray(jpg)
    sof = huge.find(b"\xff\xc0")
    huge[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    open(os.path.join(OUT, "bad_huge.jpg"), "wb").write(bytes(huge))
    write_reference_ops()
    print("wrote fixtures to", os.path.normpath(OUT))


def raw(name, array):
    """Float32 little-endian, row-major; the shape is in the file name."""
    np.ascontiguousarray(array, dtype="<f4").tofile(os.path.join(OUT, name))


def write_reference_ops():
    rng = np.random.default_rng(3)
    # Resampling: a gray plane in [0.25, 0.75] (so cubic overshoot stays inside [0, 1]) of 23 x 17.
    src = (0.25 + 0.5 * rng.random((17, 23))).astype(np.float32)
    raw("resize_src_23x17.f32", src)
    pil = Image.fromarray(src, mode="F")
    for name, flt in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC), ("lanczos", Image.LANCZOS)):
        for (w, h) in ((41, 30), (9, 7)):
            raw(f"resize_{name}_{w}x{h}.f32", np.asarray(pil.resize((w, h), flt)))
    for (w, h) in ((9, 7), (11, 8)):
        raw(f"resize_area_{w}x{h}.f32", cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA))
    # Morphology: a random blob mask of 40 x 30, dilated and eroded with OpenCV's elliptical kernels.
    mask = (rng.random((30, 40)) > 0.93).astype(np.uint8)
    mask[10:20, 12:25] = 1
    mask[0:4, 30:40] = 1  # touches the border
    raw("morph_src_40x30.f32", mask)
    for r in (1, 2, 4):
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        raw(f"morph_dilate_r{r}.f32", cv2.dilate(mask, k))
        raw(f"morph_erode_r{r}.f32", cv2.erode(mask, k))


if __name__ == "__main__":
    main()
