from django.contrib import admin

from tutor.curricula.models import Curriculum, Problem, Subproblem


class SubproblemInline(admin.StackedInline):
    model = Subproblem
    extra = 0


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "curriculum", "position")
    inlines = [SubproblemInline]


@admin.register(Curriculum)
class CurriculumAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "version", "created_at")
