from django.contrib import admin

from tutor.coaching.models import MisconceptionSuggestion, TurnFlag


@admin.register(TurnFlag)
class TurnFlagAdmin(admin.ModelAdmin):
    list_display = ("message", "flagged_by", "reason", "created_at")


@admin.register(MisconceptionSuggestion)
class MisconceptionSuggestionAdmin(admin.ModelAdmin):
    list_display = ("answer", "subproblem", "students", "status", "suggested_by", "created_at")
    list_filter = ("status",)
