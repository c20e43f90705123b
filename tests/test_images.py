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
