"""Role changes, from any code path: a view, the Django admin, the shell, a command.

``pre_save`` on the user model reads the stored role and staff flags;
``post_save`` compares and, when they changed, appends one ``role_change``
event with old -> new. A user created with more than the student role (a
teacher, an admin, staff) is recorded too: that is a grant. The actor is the
signed-in user of the current request (``AuditActorMiddleware``), else the
system (a management command: ``actor`` NULL, ``detail.via`` "system").

Not seen: ``QuerySet.update()`` and raw SQL, which send no signals; no code
in this project changes roles that way (``grep -rn "update(role" tutor``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from tutor.audit.middleware import current_request

WATCHED = ("role", "is_staff", "is_superuser")


def _flags(user) -> dict:
    return {name: getattr(user, name) for name in WATCHED}


@receiver(pre_save, sender=get_user_model(), dispatch_uid="audit_user_pre_save")
def _remember_old_role(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    instance._audit_old_flags = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(WATCHED):
        return  # e.g. the login's last_login update: no extra query
    old = sender.objects.filter(pk=instance.pk).values(*WATCHED).first()
    instance._audit_old_flags = old


@receiver(post_save, sender=get_user_model(), dispatch_uid="audit_user_post_save")
def _record_role_change(sender, instance, created=False, raw=False, **kwargs) -> None:
    from tutor.audit.actions import audit_record

    if raw:
        return
    new = _flags(instance)
    if created:
        if new["role"] == "student" and not new["is_staff"] and not new["is_superuser"]:
            return  # an ordinary student account grants nothing
        old = None
    else:
        old = getattr(instance, "_audit_old_flags", None)
        if old is None or old == new:
            return
    request = current_request()
    actor = request.user if request is not None and request.user.is_authenticated else None
    detail = {"via": "web" if request is not None else "system", "created": bool(created)}
    for name in WATCHED:
        if old is None or old[name] != new[name]:
            detail[f"old_{name}"] = None if old is None else old[name]
            detail[f"new_{name}"] = new[name]
    audit_record(
        action="role_change",
        actor=actor,
        subject=instance,
        object_type="user",
        object_id=instance.pk,
        detail=detail,
        request=request,
    )
