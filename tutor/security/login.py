"""Sign-in with a limit on failed attempts per username and address.

Only failures count (``RATE_LIMIT_LOGIN``, default 10 per 5 minutes), so a
class that signs in together from one school address is never slowed down,
while guessing one account's password stops after a handful of tries. Past
the limit every attempt for that username from that address, right password
or not, gets HTTP 429 and a message saying when to try again; the password
is not even checked.

The check (``peek``) and the count (``hit`` after a failure) are two steps,
so P attempts sent at the same instant can overshoot the limit by up to P-1;
the next window still starts from the full count.
"""

from __future__ import annotations

import math

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from tutor.audit.actions import audit_record
from tutor.security.ratelimit import Verdict, login_blocked, login_failed

USERNAME_MAX_CHARS = 150
PASSWORD_MAX_CHARS = 1024


def too_many_message(verdict: Verdict) -> str:
    minutes = max(1, math.ceil(verdict.retry_after_s / 60))
    return f"Too many sign-in attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."


class RateLimitedLoginView(LoginView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")[:USERNAME_MAX_CHARS]
        ip = request.META.get("REMOTE_ADDR")
        if len(request.POST.get("password", "")) > PASSWORD_MAX_CHARS:
            form = self.get_form()
            return self.render_to_response(
                self.get_context_data(
                    form=form, input_error=f"The password is over the {PASSWORD_MAX_CHARS} character limit."
                ),
                status=400,
            )
        blocked = login_blocked(username, ip)
        if not blocked.allowed:
            return self.render_to_response(
                self.get_context_data(form=self.get_form(), rate_limited=too_many_message(blocked)), status=429
            )
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # the form was re-shown: a failed sign-in
            failed = login_failed(username, ip)
            if failed.count == failed.limit:  # the attempt that used up the budget: one event per window
                audit_record(
                    action="rate_limited",
                    object_type="login",
                    detail={"username": username, "limit": failed.limit},
                    request=request,
                )
        return response
