import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PILImage

from articles.models import Image

pytestmark = pytest.mark.django_db


def png_bytes(size=(8, 8)):
    buffer = io.BytesIO()
    PILImage.new("RGB", size, "blue").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, name, content, content_type="image/png", alt="A diagram"):
    return client.post(
        reverse("admin:articles_image_add"),
        {"file": SimpleUploadedFile(name, content, content_type=content_type), "alt_text": alt, "_save": "Save"},
        follow=True,
    )


def test_editor_uploads_an_image_and_gets_the_markdown_line(editor_client, tmp_path):
    response = upload(editor_client, "../../etc/passwd diagram.PNG", png_bytes())
    assert response.status_code == 200
    image = Image.objects.get()
    assert image.file.name.startswith("images/")
    assert ".." not in image.file.name and "passwd" not in image.file.name
    assert image.file.name.endswith(".png")
    assert (tmp_path / image.file.name).exists()
    assert f"![A diagram]({image.file.url})" in response.content.decode()


def test_a_file_that_is_not_an_image_is_refused(editor_client):
    response = upload(editor_client, "evil.png", b"<script>alert(1)</script>")
    assert Image.objects.count() == 0
    assert "Upload a valid image" in response.content.decode()


def test_an_svg_or_html_file_is_refused(editor_client):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
    upload(editor_client, "x.svg", svg, content_type="image/svg+xml")
    upload(editor_client, "x.html", b"<html></html>", content_type="text/html")
    assert Image.objects.count() == 0


def test_an_image_over_the_size_limit_is_refused(editor_client, settings):
    settings.IMAGE_UPLOAD_MAX_BYTES = 100
    response = upload(editor_client, "big.png", png_bytes((64, 64)))
    assert Image.objects.count() == 0
    assert "the limit is" in response.content.decode()


# ---- the bytes decide, and every upload is encoded again (#15, articles/uploads.py)


def stored(image):
    with image.file.open("rb") as file:
        return file.read()


def gif_bytes(size=(8, 8), **options):
    buffer = io.BytesIO()
    PILImage.new("P", size, 1).save(buffer, format="GIF", **options)
    return buffer.getvalue()


def gif_header_only(width, height):
    """A GIF that claims width x height but holds a few bytes of pixels (266 bytes for the audit's 12,000 x 12,000)."""
    import struct

    return (
        b"GIF89a"
        + struct.pack("<HH", width, height)
        + b"\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        + b","
        + struct.pack("<HHHH", 0, 0, width, height)
        + b"\x00\x02\x02\x4c\x01\x00;"
    )


def test_a_gif_named_jpg_is_stored_as_the_gif_it_is(editor_client):
    upload(editor_client, "photo.jpg", gif_bytes(), content_type="image/jpeg")
    image = Image.objects.get()
    assert image.file.name.endswith(".gif")
    assert stored(image).startswith(b"GIF8")


def test_a_gif_that_is_also_javascript_loses_its_script(editor_client):
    # Width 10,799 is the bytes "/*": the file starts "GIF89a/*", and its comment closes the JavaScript comment.
    polyglot = gif_bytes((0x2A2F, 10), comment=b"*/=1;alert(document.domain);/*")
    assert polyglot.startswith(b"GIF89a/*") and b"alert(document.domain)" in polyglot
    upload(editor_client, "innocent.gif", polyglot, content_type="image/gif")
    data = stored(Image.objects.get())
    assert b"alert" not in data
    assert PILImage.open(io.BytesIO(data)).size == (0x2A2F, 10)


def test_html_appended_to_a_png_is_dropped(editor_client):
    upload(editor_client, "diagram.png", png_bytes() + b"<html><script>alert(1)</script></html>")
    data = stored(Image.objects.get())
    assert b"<script" not in data and b"<html" not in data
    assert PILImage.open(io.BytesIO(data)).getpixel((0, 0)) == (0, 0, 255)


def test_a_jpeg_is_turned_upright_and_loses_its_exif_and_comment(editor_client):
    original = PILImage.new("RGB", (40, 20), "red")
    exif = PILImage.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "Secret Camera Co"  # make
    buffer = io.BytesIO()
    original.save(buffer, format="JPEG", exif=exif, comment=b"<script>alert(1)</script>")
    assert b"Secret Camera Co" in buffer.getvalue()

    upload(editor_client, "photo.jpeg", buffer.getvalue(), content_type="image/jpeg")
    data = stored(Image.objects.get())
    assert b"Secret Camera Co" not in data and b"<script" not in data
    saved = PILImage.open(io.BytesIO(data))
    assert saved.format == "JPEG"
    assert saved.size == (20, 40)  # upright: the orientation is in the pixels now
    assert 0x0112 not in saved.getexif()


def test_an_animated_gif_stays_animated(editor_client):
    frames = [PILImage.new("RGB", (8, 8), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    assert PILImage.open(io.BytesIO(buffer.getvalue())).n_frames == 3
    upload(editor_client, "spinner.gif", buffer.getvalue(), content_type="image/gif")
    saved = PILImage.open(io.BytesIO(stored(Image.objects.get())))
    assert saved.n_frames == 3


@pytest.mark.parametrize(
    "name,size,said",
    [("bomb.gif", (12_000, 12_000), "144 megapixels"), ("huge.gif", (40_000, 40_000), "1,600 megapixels")],
)
def test_a_decompression_bomb_is_refused_with_a_clear_message_and_no_warning(editor_client, name, size, said):
    import warnings

    bomb = gif_header_only(*size)
    assert len(bomb) < 300
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = upload(editor_client, name, bomb, content_type="image/gif")
    assert response.status_code == 200
    assert Image.objects.count() == 0
    page = response.content.decode()
    assert f"The image is {said}; the limit is 40 megapixels" in page and "Scale it down" in page
    assert not [w for w in caught if issubclass(w.category, PILImage.DecompressionBombWarning)]


def test_an_image_over_the_pixel_limit_is_refused_with_its_size(editor_client):
    response = upload(editor_client, "wide.gif", gif_header_only(9_000, 5_000), content_type="image/gif")
    assert Image.objects.count() == 0
    assert "9,000 × 5,000 pixels (45 megapixels); the limit is 40 megapixels" in response.content.decode()


def test_the_pixel_limit_is_a_setting(editor_client, settings):
    settings.IMAGE_UPLOAD_MAX_PIXELS = 50
    response = upload(editor_client, "small.png", png_bytes((8, 8)))
    assert Image.objects.count() == 0
    assert "8 × 8 pixels" in response.content.decode()


@pytest.mark.parametrize("format_name", ["BMP", "TIFF", "ICO"])
def test_images_in_other_formats_are_refused(editor_client, format_name):
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "blue").save(buffer, format=format_name)
    response = upload(editor_client, "picture.png", buffer.getvalue())
    assert Image.objects.count() == 0
    assert "Upload a valid image" in response.content.decode()


def test_a_truncated_image_is_refused_not_a_500(editor_client):
    response = upload(editor_client, "cut.png", png_bytes((64, 64))[:80])
    assert response.status_code == 200
    assert Image.objects.count() == 0
    assert "Upload a valid image" in response.content.decode()
