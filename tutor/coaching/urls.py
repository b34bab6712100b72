from django.urls import path

from tutor.coaching import views

urlpatterns = [
    path("teach/classes/<int:class_id>/coaching/", views.class_dashboard, name="coaching_dashboard"),
    path("teach/classes/<int:class_id>/coaching/<slug:table>.csv", views.class_table_csv, name="coaching_csv"),
    path(
        "teach/classes/<int:class_id>/coaching/misconceptions/",
        views.class_misconceptions,
        name="coaching_misconceptions",
    ),
    path(
        "teach/classes/<int:class_id>/coaching/misconceptions/suggest/",
        views.misconception_suggest,
        name="coaching_misconception_suggest",
    ),
    path(
        "teach/classes/<int:class_id>/coaching/students/<int:student_id>/",
        views.student_report,
        name="coaching_student",
    ),
    path("teach/coaching/sessions/<int:session_id>/", views.session_turns, name="coaching_session"),
    path("teach/coaching/sessions/<int:session_id>/flag/", views.turn_flag, name="coaching_turn_flag"),
    path("teach/coaching/transcript/", views.transcript_coaching, name="coaching_transcript"),
]
