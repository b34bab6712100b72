from django.contrib import admin

from tutor.dialogue.models import Message, TutorSession


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("seq", "role", "kind", "text", "record")
    readonly_fields = fields
    fk_name = "session"


@admin.register(TutorSession)
class TutorSessionAdmin(admin.ModelAdmin):
    list_display = ("pk", "student", "problem", "status", "subproblem_index", "created_at")
    list_filter = ("status",)
    inlines = [MessageInline]
