from django.urls import path

from tutor.accounts import views

urlpatterns = [
    path("join/", views.class_join, name="class_join"),
    path("teach/", views.teacher_classes, name="teacher_classes"),
    path("teach/classes/<int:class_id>/", views.teacher_class_detail, name="teacher_class_detail"),
    path("teach/classes/<int:class_id>/roster/", views.roster_upload, name="roster_upload"),
]
