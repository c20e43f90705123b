import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

django_application = get_wsgi_application()


def application(environ, start_response):
    """Django's application, sending no body in answer to HEAD.

    Django leaves dropping a HEAD response's body to the server. gunicorn does
    drop it, but logs a warning for every such request, which would bury real
    warnings under each load balancer's HEAD probes.
    """
    result = django_application(environ, start_response)
    if environ.get("REQUEST_METHOD") != "HEAD":
        return result
    # Closing is what fires request_finished, which returns the database connection.
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return []
