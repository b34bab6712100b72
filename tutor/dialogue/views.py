"""Student pages: the problem list, opening a session, the chat page.

The chat itself runs over the WebSocket (``consumers.py``); these views
render the page and offer the transcript over HTTP with the same permission
checks. A session you may not see is a 404, so ids reveal nothing.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tutor.accounts.permissions import can_post_in_session, can_view_session, can_view_turn_labels
from tutor.accounts.views import role_required
from tutor.agents.record import ACTIONS, EVALUATIONS, STATES
from tutor.audit.actions import audit_viewed
from tutor.curricula.models import Problem
from tutor.dialogue.actions import session_start
from tutor.dialogue.events import message_event
from tutor.dialogue.models import Message, TutorSession
from tutor.planning.selectors import next_problem_after


def problems_for(student) -> list[Problem]:
    """Problems of the curricula assigned to the student's classes."""
    return list(
        Problem.objects.filter(curriculum__classrooms__students=student)
        .select_related("curriculum")
        .distinct()
        .order_by("curriculum__title", "position")
    )


@role_required("student")
def student_home(request: HttpRequest) -> HttpResponse:
    sessions = TutorSession.objects.filter(student=request.user)
    status = {}
    for s in sessions.order_by("created_at"):  # the latest session of a problem wins
        status[s.problem_id] = s
    problems = [(p, status.get(p.pk)) for p in problems_for(request.user)]
    return render(
        request,
        "dialogue/student_home.html",
        {"classrooms": request.user.enrolled_classes.all(), "problems": problems},
    )


@role_required("student")
@require_POST
def session_open(request: HttpRequest, problem_id: int) -> HttpResponse:
    problem = next((p for p in problems_for(request.user) if p.pk == problem_id), None)
    if problem is None:
        raise Http404("no such problem in your classes")
    session = session_start(student=request.user, problem=problem)
    return redirect("session_page", session_id=session.pk)


def _visible_session(request: HttpRequest, session_id: int) -> TutorSession:
    session = get_object_or_404(TutorSession.objects.select_related("student", "problem"), pk=session_id)
    if not can_view_session(request.user, session):
        raise Http404("no such session")
    return session


@login_required
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _visible_session(request, session_id)
    audit_viewed(request, object_type="session", object_id=session.pk, subject=session.student)
    return render(
        request,
        "dialogue/session.html",
        {
            "session": session,
            "problem": session.problem,
            "subproblem_count": session.problem.subproblems.count(),
            "can_post": can_post_in_session(request.user, session),
            "next_problem": next_problem_after(session),
        },
    )


@login_required
def session_messages(request: HttpRequest, session_id: int) -> JsonResponse:
    session = _visible_session(request, session_id)
    audit_viewed(request, object_type="session_messages", object_id=session.pk, subject=session.student)
    messages = session.messages.select_related("reply_to").order_by("seq")
    return JsonResponse(
        {
            "session": session.pk,
            "status": session.status,
            "messages": [message_event(m) for m in messages],
        }
    )


@login_required
def session_transcript(request: HttpRequest, session_id: int) -> HttpResponse:
    """A teacher's view of a session: every tutor turn with its CLASS labels."""
    session = _visible_session(request, session_id)
    if not can_view_turn_labels(request.user, session):
        raise Http404("no such transcript")
    audit_viewed(request, object_type="transcript", object_id=session.pk, subject=session.student)
    rows = []
    for message in session.messages.order_by("seq"):
        record = message.record if message.role == Message.Role.TUTOR else {}
        rows.append(
            {
                "message": message,
                "record": record,
                "evaluation": EVALUATIONS.get(record.get("evaluation"), ""),
                "action": ACTIONS.get(record.get("action"), ""),
                "state": STATES.get(record.get("subproblem_state"), ""),
            }
        )
    return render(request, "dialogue/transcript.html", {"session": session, "rows": rows})
