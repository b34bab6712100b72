from django.urls import path

from tutor.dialogue import views

urlpatterns = [
    path("learn/", views.student_home, name="student_home"),
    path("problems/<int:problem_id>/start/", views.session_open, name="session_open"),
    path("sessions/<int:session_id>/", views.session_page, name="session_page"),
    path("sessions/<int:session_id>/transcript/", views.session_transcript, name="session_transcript"),
    path("sessions/<int:session_id>/messages.json", views.session_messages, name="session_messages"),
]
