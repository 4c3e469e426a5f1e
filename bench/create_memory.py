"""Create with a thumbnail: time and memory of POST /api/v1/live-stream/create for
one image, in this fresh process (run by `bench/run.py create`, in the benchmark's
environment). Prints one JSON object on its last line.

    python bench/create_memory.py --image var/bench/noise-4000x3000.jpg \
        --width 4000 --height 3000 [--kind photo|smooth|flat] [--expect 201|400] \
        [--requests 5]

The image is made once, by `--make-only` in a process of its own so that making it
does not count in the peak memory, and kept for the next runs. Its format follows
the file name (.jpg or .png); `--kind` says what it holds: `photo`, a smooth picture
plus Gaussian noise (JPEG quality 90, so that it compresses like a photo);
`smooth`, the gradients alone; `flat`, one colour (a tiny file that declares a huge
image, as in the attack of issue 10). With `--expect 400` the upload must be refused
(the time and memory of refusing it are measured).
"""

import argparse
import gc
import io
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.client import encode_multipart  # noqa: E402
from PIL import Image, ImageFile, ImageFilter  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from allmine.core.ids import new_object_id  # noqa: E402

BOUNDARY = "AllmineBenchBoundary7MA4YWxkTrZu0gW"


def make_image(path: Path, width: int, height: int, kind: str = "photo") -> None:
    """`photo`: gradients for structure, blurred noise for texture; `smooth`: the
    gradients alone; `flat`: one colour. JPEG or PNG after the file name."""
    fmt = "PNG" if path.suffix == ".png" else "JPEG"
    if kind == "flat":
        image = Image.new("RGB", (width, height), (12, 34, 56))
    else:
        gradient = Image.linear_gradient("L").resize((width, height))
        radial = Image.radial_gradient("L").resize((width, height))
        mirrored = gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        channels = []
        for base in (gradient, radial, mirrored):
            if kind == "photo":
                noise = Image.effect_noise((width, height), 40).filter(
                    ImageFilter.GaussianBlur(0.6)
                )
                base = Image.blend(base, noise, 0.5)
            channels.append(base)
        image = Image.merge("RGB", channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    options = {"quality": 90} if fmt == "JPEG" else {"compress_level": 9}
    image.save(partial, fmt, **options)
    partial.replace(path)


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def multipart(data: bytes, name: str = "photo.jpg") -> bytes:
    photo = io.BytesIO(data)
    photo.name = name
    return encode_multipart(BOUNDARY, {"title": "Benchmark create", "thumbnail": photo})


def new_creator() -> str:
    user = User.objects.create(
        id=new_object_id(),
        username=f"cr{new_object_id()[-12:]}",
        email=f"cr{new_object_id()}@bench.example",
        password="!",
    )
    return f"Bearer {AccessToken.for_user(user)}"


def create(client: Client, body: bytes, token: str, expect: int = 201):
    response = client.post(
        "/api/v1/live-stream/create",
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        HTTP_AUTHORIZATION=token,
        HTTP_HOST="localhost",
    )
    if response.status_code != expect:
        raise SystemExit(f"create answered {response.status_code}: {response.content[:300]!r}")
    return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--kind", choices=["photo", "smooth", "flat"], default="photo")
    parser.add_argument("--expect", type=int, choices=[201, 400], default=201)
    parser.add_argument(
        "--make-only", action="store_true", help="only make the image (in its own process)"
    )
    args = parser.parse_args()
    path = Path(args.image)
    if args.make_only:
        if not path.exists():
            make_image(path, args.width, args.height, args.kind)
        print(json.dumps({"image": str(path), "bytes": path.stat().st_size}))
        return
    if not path.exists():
        raise SystemExit(f"{path} is missing: run with --make-only first")

    client = Client()
    tokens = [new_creator() for _ in range(args.requests + 3)]
    create(client, multipart(tiny_jpeg()), tokens.pop())  # warm-up: imports, connections
    body = multipart(path.read_bytes(), path.name)

    # What the decoder is asked for: the size of the image when its pixels are loaded.
    decoded = []
    original_load = ImageFile.ImageFile.load

    def recording_load(self):
        if self._im is None:
            decoded.append(self.size)
        return original_load(self)

    gc.collect()
    rss_before = maxrss_kib()
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        create(client, body, tokens.pop(), args.expect)
        times.append((time.perf_counter() - started) * 1000)
    rss_after = maxrss_kib()

    ImageFile.ImageFile.load = recording_load
    gc.collect()
    tracemalloc.start()
    response = create(client, body, tokens.pop(), args.expect)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ImageFile.ImageFile.load = original_load

    if args.expect == 201:
        thumbnail_url = response.json()["data"]["thumbnailUrl"]
        stored_name = thumbnail_url.split(settings.MEDIA_URL, 1)[1]
        with Image.open(Path(settings.MEDIA_ROOT) / stored_name) as stored:
            stored_at = "{}x{}".format(*stored.size)
    else:
        stored_at = f"refused: {response.json()['errors'][1][:60]}..."
    decoded_w, decoded_h = decoded[0] if decoded else (0, 0)
    result = {
        "width": args.width,
        "height": args.height,
        "format": "PNG" if path.suffix == ".png" else "JPEG",
        "kind": args.kind,
        "status": response.status_code,
        "megapixels": args.width * args.height / 1e6,
        "upload_bytes": path.stat().st_size,
        "requests": args.requests,
        "ms_median": statistics.median(times),
        "ms_min": min(times),
        "decoded_at": f"{decoded_w}x{decoded_h}" if decoded else "not decoded",
        # Pillow keeps an RGB image in 4 bytes per pixel.
        "decoded_bytes": decoded_w * decoded_h * 4,
        "stored": stored_at,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_growth_kib": rss_after - rss_before,
        "tracemalloc_peak": peak,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
