"""SRL pages: the game home, a study session (goal, studying, reflection, summary), the chat panel's JSON.

Every study session is the student's own: another user's id is a 404, so ids
reveal nothing. Forms post and redirect (PRG); the chat panel (``srl.js``)
polls ``panel.json`` and posts check-ins with the same forms.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tutor.accounts.models import Classroom
from tutor.accounts.permissions import classrooms_visible_to
from tutor.accounts.views import role_required
from tutor.audit.actions import audit_viewed
from tutor.curricula.models import Curriculum
from tutor.dialogue.models import TutorSession
from tutor.dialogue.views import problems_for
from tutor.srl import actions, rules, selectors
from tutor.srl.models import SrlEvent, StudySession


def _own_study(request: HttpRequest, study_id: int) -> StudySession:
    return get_object_or_404(
        StudySession.objects.select_related("curriculum", "student"), pk=study_id, student=request.user
    )


def _curricula(student) -> list[Curriculum]:
    return list(Curriculum.objects.filter(classrooms__students=student).distinct().order_by("title"))


@role_required("student")
def srl_home(request: HttpRequest) -> HttpResponse:
    curricula = _curricula(request.user)
    return render(
        request,
        "srl/home.html",
        {
            "game": selectors.game_state(request.user) if selectors.game_on_for(request.user) else None,
            "leaderboards": selectors.leaderboards_for(request.user),
            "badge_names": rules.BADGES,
            "curricula": [(c, selectors.quests(request.user, c)) for c in curricula],
            "studies": StudySession.objects.filter(student=request.user).select_related("curriculum")[:10],
            "recent_xp": SrlEvent.objects.filter(student=request.user, xp__gt=0).order_by("-created_at", "-pk")[:8],
        },
    )


@role_required("student")
@require_POST
def leaderboard_opt(request: HttpRequest, class_id: int) -> HttpResponse:
    """A student joins (``opt_in=1``) or leaves (``opt_in=0``) one of their classes' leaderboards.

    Another class's id is a 404, so ids reveal nothing.
    """
    classroom = get_object_or_404(Classroom, pk=class_id, students=request.user)
    opt_in = request.POST.get("opt_in") == "1"
    actions.leaderboard_opt_set(student=request.user, classroom=classroom, opt_in=opt_in)
    if opt_in:
        messages.success(request, f"You are on the {classroom.name} leaderboard. You can leave it at any time.")
    else:
        messages.success(request, f"You are off the {classroom.name} leaderboard. Only you see your weekly XP.")
    return redirect("srl_home")


@role_required("student")
@require_POST
def study_start(request: HttpRequest, curriculum_id: int) -> HttpResponse:
    curriculum = next((c for c in _curricula(request.user) if c.pk == curriculum_id), None)
    if curriculum is None:
        raise Http404("no such curriculum in your classes")
    study = actions.study_session_start(student=request.user, curriculum=curriculum)
    return redirect("srl_study", study_id=study.pk)


def _goal_concepts(study: StudySession) -> list[tuple[str, str, bool]]:
    """(key, name, on the plan) for the goal form: the plan's steps first, then the other concepts."""
    names = selectors.concept_names(study.curriculum)
    plan = [q for quest in selectors.quests(study.student, study.curriculum) for q in quest["concepts"]]
    on_plan = [(k, n, True) for k, n in names.items() if n in plan]
    rest = [(k, n, False) for k, n in sorted(names.items(), key=lambda kv: kv[1]) if n not in plan]
    return on_plan + rest


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


@role_required("student")
def study_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = _own_study(request, study_id)
    check = None
    if request.method == "POST" and study.status == StudySession.Status.PLANNING:
        goal = actions.GoalInput(
            text=request.POST.get("goal", ""),
            concepts=request.POST.getlist("concepts"),
            minutes=_int(request.POST.get("minutes"), 20),
            strategy=request.POST.get("strategy", ""),
            confidence=_int(request.POST.get("confidence")),
        )
        try:
            check = actions.goal_quality_check(study, goal)
        except actions.SrlError as exc:
            messages.error(request, str(exc))
            return redirect("srl_study", study_id=study.pk)
        if check.accepted:
            messages.success(request, "Goal set. Your session has started: pick a problem below.")
            return redirect("srl_study", study_id=study.pk)
        study.refresh_from_db()
    context = {"study": study, "check": check, "strategies": StudySession.Strategy.choices}
    if study.status == StudySession.Status.PLANNING:
        context["concepts"] = _goal_concepts(study)
    if study.status == StudySession.Status.ACTIVE:
        actions.srl_sync(study)
        names = selectors.concept_names(study.curriculum)
        context["goal_names"] = [names.get(c, c) for c in study.concepts]
        context["progress"] = selectors.goal_progress(study)
        keys = set(study.concepts)
        context["problems"] = [
            p
            for p in problems_for(request.user)
            if p.curriculum.slug == study.curriculum.slug and keys & set(p.concepts.values_list("key", flat=True))
        ]
    if study.status in (StudySession.Status.REFLECTING, StudySession.Status.DONE):
        context["summary"] = selectors.session_summary(study)
        context["game"] = selectors.game_state(request.user) if selectors.game_on_for(request.user) else None
        context["badge_names"] = rules.BADGES
    return render(request, "srl/study.html", context)


@role_required("student")
@require_POST
def study_finish(request: HttpRequest, study_id: int) -> HttpResponse:
    study = _own_study(request, study_id)
    try:
        actions.study_session_finish(study)
    except actions.SrlError as exc:
        messages.error(request, str(exc))
    return redirect("srl_study", study_id=study.pk)


@role_required("student")
@require_POST
def reflection_post(request: HttpRequest, study_id: int) -> HttpResponse:
    study = _own_study(request, study_id)
    try:
        actions.reflection_submit(
            study,
            worked=request.POST.get("worked", ""),
            hard=request.POST.get("hard", ""),
            change=request.POST.get("change", ""),
        )
    except actions.SrlError as exc:
        messages.error(request, str(exc))
    return redirect("srl_study", study_id=study.pk)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's ``next`` only when it stays on this site; anything else (an open redirect) goes to ``fallback``."""
    target = request.POST.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else fallback


@role_required("student")
@require_POST
def checkin_post(request: HttpRequest, study_id: int) -> HttpResponse:
    """A check-in from the chat panel (JSON answer for ``srl.js``) or a plain form post (redirect back)."""
    study = _own_study(request, study_id)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        event = actions.checkin_record(
            study, message_id=_int(request.POST.get("message")), confidence=_int(request.POST.get("confidence"))
        )
    except actions.SrlError as exc:
        if wants_json:
            return JsonResponse({"error": str(exc)}, status=400)
        messages.error(request, str(exc))
        return redirect(_safe_next(request, reverse("srl_study", args=[study.pk])))
    if wants_json:
        return JsonResponse({"feedback": event.data["feedback"], "ok": True})
    messages.success(request, event.data["feedback"])
    return redirect(reverse("srl_study", args=[study.pk]))


@role_required("student")
def panel_json(request: HttpRequest, session_id: int) -> JsonResponse:
    """What the chat page's SRL panel shows for tutoring session ``session_id`` (the student's own only)."""
    tutoring = get_object_or_404(
        TutorSession.objects.select_related("problem__curriculum"), pk=session_id, student=request.user
    )
    study = selectors.active_study(request.user, tutoring.problem.curriculum.slug)
    if study is None:
        return JsonResponse({"active": False, "start_url": reverse("srl_home")})
    signals = actions.srl_sync(study)
    game = selectors.game_state(request.user) if selectors.game_on_for(request.user) else None
    names = selectors.concept_names(study.curriculum)
    return JsonResponse(
        {
            "active": True,
            "study_url": reverse("srl_study", args=[study.pk]),
            "checkin_url": reverse("srl_checkin", args=[study.pk]),
            "goal": study.goal_text,
            "concepts": [names.get(c, c) for c in study.concepts],
            "progress": selectors.goal_progress(study),
            "started_at": study.started_at.isoformat() if study.started_at else None,
            "planned_minutes": study.planned_minutes,
            "checkin": selectors.latest_checkin_due(study),
            "prompts": [rules.PROMPTS[s] for s in signals],
            "xp": game.xp if game else None,
            "level": game.level if game else None,
        }
    )


@role_required("teacher", "admin")
def class_srl(request: HttpRequest, class_id: int) -> HttpResponse:
    """A teacher's view of a class: the game and leaderboard switches and each student's SRL metrics.

    A switch missing from the POST keeps its value, so a form (or a script)
    that sets only one switch never flips the other.
    """
    classroom = classrooms_visible_to(request.user).filter(pk=class_id).first()
    if classroom is None:
        raise Http404("no such class")
    if request.method == "POST":
        said = []
        if "game_on" in request.POST:
            game_on = request.POST["game_on"] == "1"
            actions.class_game_set(by=request.user, classroom=classroom, game_on=game_on)
            said.append(f"the game is {'on' if game_on else 'off'}")
        if "leaderboard_on" in request.POST:
            leaderboard_on = request.POST["leaderboard_on"] == "1"
            actions.class_leaderboard_set(by=request.user, classroom=classroom, leaderboard_on=leaderboard_on)
            said.append(f"the leaderboard is {'on' if leaderboard_on else 'off'}")
        if said:
            messages.success(request, f"Saved: {' and '.join(said)} for {classroom.name}.")
        return redirect("srl_class", class_id=classroom.pk)
    setting = getattr(classroom, "srl_game", None)
    audit_viewed(
        request, object_type="class_srl", object_id=classroom.pk, detail={"students": classroom.students.count()}
    )
    return render(
        request,
        "srl/class.html",
        {
            "classroom": classroom,
            "game_on": setting.game_on if setting else True,
            "leaderboard_on": setting.leaderboard_on if setting else False,
            "opted_in": classroom.leaderboard_opt_ins.filter(student__in=classroom.students.all()).count(),
            "rows": selectors.class_srl_rows(classroom),
        },
    )
