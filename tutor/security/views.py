"""The 400 handler: a request Django refused while reading it says which limit it broke."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.views.defaults import bad_request as django_bad_request

from tutor.security.middleware import input_too_large


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return input_too_large(request, f"The request body is over the {limit} byte limit (files not counted).")
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return input_too_large(request, f"The request has more than {limit} fields; the limit is {limit}.", 400)
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return input_too_large(request, f"The request has more than {limit} files; the limit is {limit}.", 400)
    return django_bad_request(request, exception)
