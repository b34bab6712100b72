"""Coaching report pages: parse the request, ask ``permissions``, delegate to selectors and actions.

Anyone who may not see a class, student or session gets a 404, never a 403,
so ids reveal nothing about other teachers' classes.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from tutor.accounts.models import Classroom, User
from tutor.accounts.permissions import (
    can_flag_turn,
    can_use_transcript_coaching,
    can_view_class_reports,
    can_view_student_report,
)
from tutor.audit.actions import audit_viewed
from tutor.coaching import selectors as s
from tutor.coaching.actions import (
    CoachingError,
    misconception_suggestion_create,
    transcript_coaching_upload,
    turn_flag_create,
)
from tutor.coaching.talkmoves import MAX_BYTES, TranscriptError
from tutor.curricula.models import Curriculum, Subproblem
from tutor.dialogue.models import Message, TutorSession


def _classroom(request: HttpRequest, class_id: int) -> Classroom:
    classroom = Classroom.objects.filter(pk=class_id).first()
    if classroom is None or not can_view_class_reports(request.user, classroom):
        raise Http404("no such class")
    return classroom


def _curriculum(request: HttpRequest, classroom: Classroom) -> Curriculum:
    raw = request.GET.get("curriculum") or request.POST.get("curriculum")
    try:
        wanted = int(raw) if raw else None
    except ValueError:
        wanted = None
    curriculum = s.class_curriculum(classroom, wanted)
    if curriculum is None:
        raise Http404("this class has no such curriculum")
    return curriculum


@login_required
def class_dashboard(request: HttpRequest, class_id: int) -> HttpResponse:
    """Where the class stands: heatmap, theta ± SE, goals, activity, who needs attention, and what to do next."""
    classroom = _classroom(request, class_id)
    curriculum = _curriculum(request, classroom)
    audit_viewed(
        request,
        object_type="class_dashboard",
        object_id=classroom.pk,
        detail={"students": classroom.students.count(), "curriculum": curriculum.pk},
    )
    return render(request, "coaching/dashboard.html", dashboard_context(classroom, curriculum))


def dashboard_context(classroom: Classroom, curriculum: Curriculum, *, aggregated: bool = True) -> dict:
    """The dashboard template's context; ``aggregated=False`` is the naive path ``bench/dashboard.py`` times."""
    data = s.dashboard_data(classroom, curriculum, aggregated=aggregated)
    abilities, activity, goals = data["abilities"], data["activity"], data["goals"]
    chart_data = {
        "abilities": [{k: r[k] for k in ("name", "theta", "se", "n")} for r in abilities if r["theta"] is not None],
        "activity": activity,
        "goals": [{"concept": g["concept"], "scope": g["scope"], "pct": g["pct"]} for g in goals],
    }
    heatmap = s.heatmap(data["students"], data["mastery"])
    for row in heatmap["rows"]:
        row["cells_html"] = _heatmap_cells_html(row["cells"])
    return {
        "classroom": classroom,
        "curriculum": curriculum,
        "curricula": classroom.curricula.order_by("title", "-version"),
        "heatmap": heatmap,
        "abilities": abilities,
        "goals": goals,
        "activity": activity,
        "attention": data["attention"],
        "srl": data["srl"],
        "recommendations": data["recommendations"],
        "chart_data": chart_data,
        "thresholds": {"mastered": round(100 * s.MASTERED), "weak": round(100 * s.WEAK)},
    }


def _heatmap_cells_html(cells: list[dict]) -> str:
    """A heatmap row's ``<td>`` cells, built here instead of in a template loop.

    Why: at 40 students x 60 concepts the loop renders 2,400 cells of five
    variables each, and Django's template engine spent about a third of the
    dashboard's 500 ms budget on them; plain string formatting of the same
    markup (every value escaped) costs a few ms.
    """
    out = []
    for cell in cells:
        pct, band, n = cell["pct"], escape(cell["band"]), cell["n"]
        value = "" if pct is None else f"{pct}%<br>"
        evidence = f" ({n} ev.)" if n else ""
        out.append(
            f'<td class="cell band-{slugify(cell["band"])}" data-value="{-1 if pct is None else pct}">'
            f"{value}<small>{band}{evidence}</small></td>"
        )
    return mark_safe("".join(out))  # noqa: S308 - built from ints and escaped text above


CSV_TABLES = ("mastery", "attention", "recommendations", "misconceptions", "abilities", "goals")


def _csv_rows(table: str, classroom: Classroom, curriculum: Curriculum) -> list[list]:
    """The header and rows of one dashboard table, as the page shows them (from the same aggregates)."""
    data = s.dashboard_data(classroom, curriculum)
    students, mastery = data["students"], data["mastery"]
    if table == "mastery":
        heat = s.heatmap(students, mastery)
        rows = [["username", "name", *[c.key for c in heat["concepts"]]]]
        for row in heat["rows"]:
            cells = ["" if c["pct"] is None else c["pct"] for c in row["cells"]]
            rows.append([row["student"].username, s.student_name(row["student"]), *cells])
        return rows
    if table == "abilities":
        return [["name", "theta", "se", "responses"]] + [
            [r["name"], r["theta"], r["se"], r["n"]] for r in data["abilities"]
        ]
    if table == "goals":
        return [["concept", "for", "due", "mastered", "of", "not_yet"]] + [
            [g["concept"], g["scope"], g["goal"].due or "", g["done"], g["total"], "; ".join(g["not_yet"])]
            for g in data["goals"]
        ]
    if table == "attention":
        return [["username", "reason", "evidence"]] + [
            [a["student"].username, a["reason"], a["evidence"]] for a in data["attention"]
        ]
    if table == "misconceptions":
        return [["misconception", "times", "students", "problems"]] + [
            [m["id"], m["count"], "; ".join(m["students"]), "; ".join(m["problems"])] for m in data["misconceptions"]
        ]
    return [["kind", "title", "students", "concepts", "evidence", "next_step"]] + [
        [r["kind"], r["title"], "; ".join(r["students"]), "; ".join(r["concepts"]), r["evidence"], r["next_step"]]
        for r in data["recommendations"]
    ]


@login_required
def class_table_csv(request: HttpRequest, class_id: int, table: str) -> HttpResponse:
    """Any dashboard table as CSV (``CSV_TABLES``): what the page shows, for a spreadsheet."""
    classroom = _classroom(request, class_id)
    if table not in CSV_TABLES:
        raise Http404("no such table")
    curriculum = _curriculum(request, classroom)
    audit_viewed(
        request,
        action="export",
        object_type="class_csv",
        object_id=classroom.pk,
        detail={"table": table, "students": classroom.students.count(), "curriculum": curriculum.pk},
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{table}-class-{classroom.pk}.csv"'
    csv.writer(response).writerows(_csv_rows(table, classroom, curriculum))
    return response


@login_required
def class_misconceptions(request: HttpRequest, class_id: int) -> HttpResponse:
    """Authored misconceptions the class showed, and clusters of wrong answers that match none of them."""
    classroom = _classroom(request, class_id)
    curriculum = _curriculum(request, classroom)
    students = s.class_students(classroom)
    audit_viewed(
        request,
        object_type="class_misconceptions",
        object_id=classroom.pk,
        detail={"students": len(students), "curriculum": curriculum.pk},
    )
    turns = s.class_turns(students, curriculum, s.MISCONCEPTION_TURNS)
    return render(
        request,
        "coaching/misconceptions.html",
        {
            "classroom": classroom,
            "curriculum": curriculum,
            "misconceptions": s.misconception_counts(students, turns),
            "clusters": s.wrong_answer_clusters(students, turns),
        },
    )


@login_required
@require_POST
def misconception_suggest(request: HttpRequest, class_id: int) -> HttpResponse:
    """One click on a cluster: store it as a pending misconception for an admin to publish.

    The answer must be one this class's students actually gave on that step;
    the examples are recomputed here, not taken from the form.
    """
    classroom = _classroom(request, class_id)
    curriculum = _curriculum(request, classroom)
    try:
        sub_id = int(request.POST.get("subproblem", ""))
    except ValueError:
        raise Http404("no such step") from None
    subproblem = get_object_or_404(Subproblem, pk=sub_id, problem__curriculum__slug=curriculum.slug)
    answer = request.POST.get("answer", "")
    students = s.class_students(classroom)
    clusters = [
        c
        for c in s.wrong_answer_clusters(students, s.class_turns(students, curriculum, s.MISCONCEPTION_TURNS))
        if c["subproblem"] is not None and c["subproblem"].pk == subproblem.pk and answer in c["answers"]
    ]
    if not clusters:
        messages.error(request, f"No student in this class gave “{answer[:80]}” on that step.")
    else:
        cluster = clusters[0]
        try:
            suggestion = misconception_suggestion_create(
                subproblem=subproblem,
                answer=cluster["representative"],
                examples=cluster["answers"],
                students=len(cluster["student_ids"]),
                by=request.user,
                feedback=request.POST.get("feedback", ""),
            )
        except CoachingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Suggested “{suggestion.answer}” as a new misconception; an admin publishes it in the next "
                "curriculum version.",
            )
    return redirect(f"{reverse('coaching_misconceptions', args=[classroom.pk])}?curriculum={curriculum.pk}")


@login_required
def student_report(request: HttpRequest, class_id: int, student_id: int) -> HttpResponse:
    """One student: mastery history, the plan (link), sessions with labelled transcripts."""
    classroom = _classroom(request, class_id)
    student = User.objects.filter(pk=student_id).first()
    if student is None or not can_view_student_report(request.user, classroom, student):
        raise Http404("no such student")
    curriculum = _curriculum(request, classroom)
    audit_viewed(
        request,
        object_type="student_report",
        object_id=student.pk,
        subject=student,
        detail={"class": classroom.pk, "curriculum": curriculum.pk},
    )
    history = s.mastery_history(student, curriculum)
    mastery = s.class_mastery([student], curriculum)
    return render(
        request,
        "coaching/student.html",
        {
            "classroom": classroom,
            "curriculum": curriculum,
            "student": student,
            "history": history,
            "chart_data": {"series": history["series"]},
            "heatmap": s.heatmap([student], mastery),
            "sessions": s.student_sessions(student, curriculum),
        },
    )


def _session_for_flags(request: HttpRequest, session_id: int) -> TutorSession:
    session = TutorSession.objects.select_related("student", "problem").filter(pk=session_id).first()
    if session is None or not can_flag_turn(request.user, session):
        raise Http404("no such session")
    return session


@login_required
def session_turns(request: HttpRequest, session_id: int) -> HttpResponse:
    """A session's transcript with each tutor turn's labels and a "flag this turn as wrong" form."""
    session = _session_for_flags(request, session_id)
    audit_viewed(request, object_type="coaching_session", object_id=session.pk, subject=session.student)
    return render(
        request,
        "coaching/session.html",
        {"session": session, "rows": s.transcript_rows(session, request.user)},
    )


@login_required
@require_POST
def turn_flag(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _session_for_flags(request, session_id)
    try:
        message_id = int(request.POST.get("message", ""))
    except ValueError:
        raise Http404("no such turn") from None
    message = get_object_or_404(Message, pk=message_id, session=session)
    try:
        turn_flag_create(message=message, by=request.user, reason=request.POST.get("reason", ""))
    except CoachingError as exc:
        messages.error(request, f"Turn #{message.seq}: {exc}")
    else:
        messages.success(request, f"Turn #{message.seq} flagged; it goes into the tutor model's next training round.")
    return redirect("coaching_session", session_id=session.pk)


@login_required
def transcript_coaching(request: HttpRequest) -> HttpResponse:
    """Upload a classroom transcript (CSV or text) and read the coaching report. Nothing is stored."""
    if not can_use_transcript_coaching(request.user):
        raise Http404("no such page")
    report, error = None, None
    if request.method == "POST":
        upload = request.FILES.get("transcript")
        if upload is None:
            error = "Choose a transcript file to upload."
        else:
            try:
                report = transcript_coaching_upload(data=upload.read(MAX_BYTES + 1), filename=upload.name)
            except TranscriptError as exc:
                error = str(exc)
    status = 400 if error and request.method == "POST" else 200
    return render(request, "coaching/transcript.html", {"report": report, "error": error}, status=status)
