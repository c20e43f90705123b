import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")


def attempt(client, username, password, ip="203.0.113.7", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def test_repeated_failures_lock_the_account_for_that_client_with_a_clear_message(client, settings):
    UserFactory(username="boss", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "boss", "wrong").status_code == 200
    locked = attempt(client, "boss", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Even the right password is refused while locked.
    assert attempt(client, "boss", "correct horse battery staple").status_code == 429


def test_an_attacker_cannot_lock_a_colleague_out_from_elsewhere(client, settings):
    UserFactory(username="colleague", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT + 2):
        attempt(client, "colleague", "guess", ip="198.51.100.66")
    response = attempt(client.__class__(), "colleague", "correct horse battery staple", ip="192.0.2.10")
    assert response.status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lock_without_trusted_proxies(client, settings):
    UserFactory(username="target", is_staff=True)
    for i in range(settings.AXES_FAILURE_LIMIT + 1):
        response = attempt(client, "target", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert response.status_code == 429


def test_a_successful_login_still_works_and_csrf_stays_on(client):
    UserFactory(username="ok", is_staff=True)
    assert attempt(client, "ok", "correct horse battery staple").status_code == 302
    strict = client.__class__(enforce_csrf_checks=True)
    assert attempt(strict, "ok", "correct horse battery staple").status_code == 403


@pytest.mark.parametrize("length", [151, 256, 300, 10_000])
def test_a_username_longer_than_any_account_gets_a_form_error_not_a_500(client, length):
    from axes.models import AccessAttempt

    response = attempt(client, "u" * length, "guess")
    assert response.status_code == 200
    assert "Ensure this value has at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.exists()  # nothing was looked up or recorded


def test_a_username_at_the_limit_is_still_checked_and_counted(client):
    from axes.models import AccessAttempt

    response = attempt(client, "u" * 150, "guess")
    assert response.status_code == 200
    assert "Please enter the correct username and password" in response.content.decode()
    assert AccessAttempt.objects.get().username == "u" * 150
