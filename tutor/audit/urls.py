from django.urls import path

from tutor.audit import views

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
]
