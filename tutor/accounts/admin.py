from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tutor.accounts.models import Classroom, Enrollment, User


@admin.register(User)
class TutorgraphUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Role", {"fields": ("role",)}),)
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    raw_id_fields = ("student",)


@admin.register(Classroom)
class ClassroomAdmin(admin.ModelAdmin):
    list_display = ("name", "teacher", "code")
    inlines = [EnrollmentInline]
    filter_horizontal = ("curricula",)
