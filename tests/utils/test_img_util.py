"""Image I/O: 8/16-bit, gray/colour, tensor conversion, clear errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from basicsr.utils.img_util import ImageReadError, imfrombytesDP, img2tensor, imread, imwrite, tensor2img


def test_8bit_color_and_gray_round_trip(tmp_path, photo):
    rgb = photo('astronaut', 64)
    bgr = rgb[..., ::-1].copy()
    imwrite(bgr, str(tmp_path / 'a' / 'c.png'))  # creates the folder
    back = imread(str(tmp_path / 'a' / 'c.png'))
    assert back.dtype == np.float32 and back.shape == (64, 64, 3)
    assert np.array_equal(np.round(back * 255).astype(np.uint8), bgr)
    gray = photo('camera', 48)
    imwrite(gray, str(tmp_path / 'g.png'))
    g = imread(str(tmp_path / 'g.png'), flag='grayscale')
    assert g.shape == (48, 48, 1) and np.array_equal(np.round(g[..., 0] * 255).astype(np.uint8), gray)
    assert imread(str(tmp_path / 'g.png')).shape == (48, 48, 3)  # colour read of a gray file


def test_16bit(tmp_path, photo):
    img = (photo('chelsea', 32)[..., ::-1].astype(np.uint16) * 257 + 3)
    path = str(tmp_path / 'x.png')
    imwrite(img, path)
    full = imread(path, flag='unchanged')
    assert np.allclose(full, img / 65535.0, atol=1e-7)
    dp = imfrombytesDP(open(path, 'rb').read(), path)
    assert np.array_equal(dp, full)
    eight = imread(path, flag='color', float32=False)  # OpenCV drops the low byte (official 8-bit setting)
    assert eight.dtype == np.uint8 and np.array_equal(eight, (img >> 8).astype(np.uint8))
    with pytest.raises(ImageReadError, match='16-bit'):
        imwrite(photo('chelsea', 8)[..., ::-1].copy(), str(tmp_path / 'e.png'))
        imfrombytesDP(open(str(tmp_path / 'e.png'), 'rb').read(), 'e.png')


def test_errors_name_the_file(tmp_path, photo):
    with pytest.raises(ImageReadError, match='not found.*nope.png'):
        imread(str(tmp_path / 'nope.png'))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not an image at all')
    with pytest.raises(ImageReadError, match='bad.png'):
        imread(str(bad))
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(ImageReadError, match='empty'):
        imread(str(empty))
    truncated = tmp_path / 'trunc.png'
    ok, buf = cv2.imencode('.png', photo('astronaut', 64))
    truncated.write_bytes(buf.tobytes()[:200])
    with pytest.raises(ImageReadError, match='trunc.png'):
        imread(str(truncated))
    with pytest.raises(TypeError, match='uint8 or uint16'):
        imwrite(np.zeros((4, 4, 3), np.float32), str(tmp_path / 'f.png'))


def test_tensor_conversion(photo):
    bgr = photo('coffee', 16)[..., ::-1].astype(np.float32) / 255
    t = img2tensor(bgr)
    assert t.shape == (3, 16, 16) and torch.allclose(t[0], torch.from_numpy(bgr[..., 2].copy()))
    back = tensor2img(t)
    assert back.dtype == np.uint8 and np.array_equal(back, np.round(bgr * 255).astype(np.uint8))
    assert tensor2img(t[None], out_type=np.uint16).dtype == np.uint16
    assert tensor2img(torch.full((1, 4, 4), 2.0)).max() == 255  # clamped
    assert tensor2img(torch.zeros(1, 4, 4)).shape == (4, 4)
