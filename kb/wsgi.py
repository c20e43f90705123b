import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

django_application = get_wsgi_application()

from kb import throttle  # noqa: E402 (needs the settings configured above)


def application(environ, start_response):
    """Django's application, with remembered refusals answered before it, and no body in answer to HEAD.

    A flooding client that this process has refused, and keeps asking for
    expensive requests, is answered again with Django's own refusal, replayed
    (kb/throttle.py, "before Django"): cached pages then wait behind
    refusals that cost about what /livez does.

    Django leaves dropping a HEAD response's body to the server. gunicorn does
    drop it, but logs a warning for every such request, which would bury real
    warnings under each load balancer's HEAD probes.
    """
    replayed = throttle.replay_refusal(environ, start_response)
    if replayed is not None:
        return replayed
    # Only an expensive page can be refused from memory: other pages (cached ones, during a flood) are not wrapped.
    if throttle._blocked and throttle.expensive_parameter(environ.get("PATH_INFO", "")) is not None:
        result = _recording_refusals(environ, start_response)
    else:
        result = django_application(environ, start_response)
    if environ.get("REQUEST_METHOD") != "HEAD":
        return result
    # Closing is what fires request_finished, which returns the database connection.
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return []


def _recording_refusals(environ, start_response):
    """django_application(), keeping a refusal from memory (throttle.REPLAY_KEY) for replay_refusal()."""
    started = []

    def remember_start(status, headers, exc_info=None):
        started.append((status, headers))
        return start_response(status, headers, exc_info)

    result = django_application(environ, remember_start)
    key = environ.get(throttle.REPLAY_KEY)
    if key is None or key in throttle._replies or not started:
        return result
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started[-1]
    throttle.record_reply(key, status, headers, body)
    return [body]
