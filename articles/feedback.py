""" "Was this helpful?" (#16): readers answer Yes or No, and after No may say why.

The form under every article is on a page that is cached and shared by every
anonymous reader (articles/caching.py), so it cannot carry a per-reader CSRF
token. The answer's POST is therefore checked the way Go's
`http.CrossOriginProtection` checks it: browsers say where a request comes
from (`Sec-Fetch-Site`, else `Origin`), and only a same-origin answer is
recorded at once. A request from another site, or one whose browser says
nothing, gets a page that asks to confirm, with a normal Django CSRF token
(that page is never cached). The comment form after "No" is on that kind of
page too, so it is protected by Django's CSRF check as usual.

- One answer per reader, article and day: a signed cookie (`kb_reader`, a
  random id) identifies the reader; what is stored (`Feedback.voter`) is a
  salted hash of it and the day, never an IP address.
- A honeypot field and a rate limit per client address (a salted hash, kept
  in the cache for ten minutes only) against floods.
- Every outcome is a page with a plain message; nothing needs JavaScript.
  After a POST the reader is redirected (303) to a GET page, so reloading
  does not answer twice. None of these responses may be cached.
"""

import hashlib
import hmac
import logging
import secrets

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from articles.models import Article, Feedback

logger = logging.getLogger(__name__)

COMMENT_MAX = 1000
READER_COOKIE = "kb_reader"
READER_SALT = "kb.feedback.reader"
TOKEN_SALT = "kb.feedback.answer"  # noqa: S105 (a signing salt, not a secret)
TOKEN_MAX_AGE = 24 * 3600
RATE_LIMIT = 20  # answers and comments per client address…
RATE_WINDOW = 600  # …in this many seconds
HONEYPOT = "website"


class AnswerForm(forms.Form):
    helpful = forms.ChoiceField(
        choices=[("yes", "Yes"), ("no", "No")],
        error_messages={"required": "Choose “Yes” or “No”.", "invalid_choice": "Choose “Yes” or “No”."},
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        max_length=COMMENT_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": COMMENT_MAX}),
        error_messages={
            "required": "Write a comment before sending it, or simply go back to the article.",
            "max_length": f"Keep the comment to {COMMENT_MAX:,} characters (it has %(show_value)d).",
        },
    )
    token = forms.CharField(widget=forms.HiddenInput)


# ---------------------------------------------------------------- who is answering


def _digest(*parts: str) -> str:
    key = hashlib.sha256(f"{settings.SECRET_KEY}:kb.feedback".encode()).digest()
    return hmac.new(key, ":".join(parts).encode(), hashlib.sha256).hexdigest()


def reader_id(request) -> tuple[str, bool]:
    """(the reader's random id, whether it is new and must be set in the cookie)."""
    try:
        value = request.get_signed_cookie(READER_COOKIE, salt=READER_SALT)
        if value and len(value) <= 64:
            return value, False
    except (KeyError, signing.BadSignature):
        pass
    return secrets.token_urlsafe(18), True


def voter_hash(reader: str, day) -> str:
    """What is stored: the reader's id hashed with the day and the site's secret."""
    return _digest("voter", day.isoformat(), reader)


def client_address(request) -> str:
    """The client's address as the login throttling sees it (TRUSTED_PROXY_COUNT); used only hashed."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def over_rate_limit(request) -> bool:
    """Counts this request against its address's allowance; True when the allowance is spent."""
    window = int(timezone.now().timestamp()) // RATE_WINDOW
    key = "feedback-rate:" + _digest("rate", str(window), client_address(request))[:32]
    try:
        cache.add(key, 0, RATE_WINDOW)
        return cache.incr(key) > RATE_LIMIT
    except Exception:  # an unreachable cache must not stop readers from answering
        logger.warning("Feedback rate limit unavailable: the cache is unreachable", exc_info=True)
        return False


# ---------------------------------------------------------------- where the request comes from


def same_origin(request) -> bool | None:
    """True when the browser says the request comes from this site, False when from another, None if silent."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin == f"{request.scheme}://{request.get_host()}" or origin in settings.CSRF_TRUSTED_ORIGINS
    return None


def csrf_token_valid(request) -> bool:
    """Django's own CSRF check, for the forms on pages that are never cached."""
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is None


# ---------------------------------------------------------------- the views


def _page(request, article, status=200, **context):
    response = render(
        request,
        "articles/feedback.html",
        {"article": article, "comment_max": COMMENT_MAX, "honeypot": HONEYPOT, **context},
        status=status,
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _thanks_url(article, **params) -> str:
    url = reverse("articles:feedback", args=[article.slug])
    return f"{url}?{urlencode(params)}" if params else url


def _token_for(feedback: Feedback) -> str:
    return signing.dumps(feedback.pk, salt=TOKEN_SALT)


def _feedback_for(token: str, article) -> Feedback | None:
    try:
        pk = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return Feedback.objects.filter(pk=pk, article=article).first()


@never_cache
@csrf_exempt  # checked in the view: see the module's docstring
def feedback_view(request, slug):
    article = get_object_or_404(Article.objects.published().select_related("category"), slug=slug)
    if request.method == "POST":
        if "comment" in request.POST or "token" in request.POST:
            return _comment(request, article)
        return _answer(request, article)
    if request.method not in ("GET", "HEAD"):
        response = _page(request, article, status=405, error="Answer with the form under the article.")
        response["Allow"] = "GET, HEAD, POST"
        return response
    # After an answer: thanks, and after "No" the comment form.
    token = request.GET.get("t", "")
    feedback = _feedback_for(token, article) if token else None
    if feedback is not None:
        form = CommentForm(initial={"token": token}) if not feedback.helpful and not feedback.comment else None
        return _page(request, article, feedback=feedback, form=form, done=request.GET.get("done"))
    if request.GET.get("done") in ("answered", "already"):
        return _page(request, article, done=request.GET["done"])
    # No answer yet (or the link has expired): the question, with a token, on a page of its own.
    return _page(request, article, ask=True)


def _answer(request, article):
    if request.POST.get(HONEYPOT):
        # Only bots fill the hidden field: look as if it worked, record nothing.
        return HttpResponseRedirect(_thanks_url(article, done="answered"), status=303)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _page(request, article, status=400, ask=True, error=form.errors["helpful"][0])
    origin = same_origin(request)
    if not origin and not csrf_token_valid(request):
        # From another site, or a browser that does not say: ask to confirm, with a token this time.
        message = (
            "Please confirm your answer."
            if origin is None
            else "This answer was sent from another site. If you meant to answer, confirm it here."
        )
        return _page(request, article, status=200 if origin is None else 403, ask=True, confirm=message)
    if over_rate_limit(request):
        return _page(
            request,
            article,
            status=429,
            error="Too many answers from your network in the last few minutes. Please try again later.",
        )
    reader, new_reader = reader_id(request)
    today = timezone.localdate()
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                article=article,
                helpful=form.cleaned_data["helpful"] == "yes",
                day=today,
                voter=voter_hash(reader, today),
            )
    except IntegrityError:
        response = HttpResponseRedirect(_thanks_url(article, done="already"), status=303)
    else:
        response = HttpResponseRedirect(_thanks_url(article, t=_token_for(feedback), done="answered"), status=303)
    if new_reader:
        response.set_signed_cookie(
            READER_COOKIE,
            reader,
            salt=READER_SALT,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _comment(request, article):
    if request.POST.get(HONEYPOT):
        return HttpResponseRedirect(_thanks_url(article, done="answered"), status=303)
    if not csrf_token_valid(request):
        return _page(
            request,
            article,
            status=403,
            error="Your comment could not be checked (the page may have been open for a long time). "
            "Answer again from the article.",
        )
    form = CommentForm(request.POST)
    feedback = _feedback_for(request.POST.get("token", ""), article)
    if feedback is None or feedback.helpful:
        return _page(
            request, article, status=400, error="This comment belongs to no answer. Answer again from the article."
        )
    if feedback.comment:
        return HttpResponseRedirect(_thanks_url(article, t=request.POST["token"], done="commented"), status=303)
    if not form.is_valid():
        return _page(request, article, status=400, feedback=feedback, form=form)
    if over_rate_limit(request):
        return _page(
            request,
            article,
            status=429,
            feedback=feedback,
            form=form,
            error="Too many answers from your network in the last few minutes. Please try again later.",
        )
    # Only a comment not already there: two tabs cannot overwrite each other's.
    Feedback.objects.filter(pk=feedback.pk, comment="").update(comment=form.cleaned_data["comment"])
    return HttpResponseRedirect(_thanks_url(article, t=request.POST["token"], done="commented"), status=303)
