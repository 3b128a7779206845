"""Writes test/fixtures/canny/: real photographs and the edge maps the seed's pipeline makes of them.

The photographs are scikit-image's sample data (Debian's python3-skimage: astronaut, NASA, public domain; coffee
and chelsea, CC0), reduced to at most 256 px on their longer side. The seed's pipeline is Keras `load_img` with
`target_size=(128, 128)` (PIL, nearest neighbour, aspect ratio not kept), gray by OpenCV, `cv2.Canny(gray, 128,
128)`, inverted: black edges on white. Run once with Debian's python3-opencv, python3-pil and python3-skimage:
    /usr/bin/python3 scripts/cannyFixtures.py
"""
import os
import cv2
import numpy as np
from PIL import Image
from skimage import data

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "canny")
os.makedirs(OUT, exist_ok=True)
for name in ["astronaut", "coffee", "chelsea"]:
    photo = Image.fromarray(getattr(data, name)()).convert("RGB")
    photo.thumbnail((256, 256), Image.LANCZOS)
    photo.save(os.path.join(OUT, f"{name}.png"), optimize=True)
    seed = np.asarray(Image.open(os.path.join(OUT, f"{name}.png")).convert("RGB").resize((128, 128), Image.NEAREST))
    edges = 255 - cv2.Canny(cv2.cvtColor(seed, cv2.COLOR_RGB2GRAY), 128, 128)
    Image.fromarray(edges).save(os.path.join(OUT, f"{name}.edges.png"), optimize=True)
    print(name, photo.size, int((edges == 0).sum()), "edge pixels of 128x128")
