from django.urls import path

from tutor.privacy import views

urlpatterns = [
    path("privacy/", views.privacy_page, name="privacy_home"),
    path("privacy/export.zip", views.privacy_export, name="privacy_export"),
    path("privacy/delete/", views.privacy_delete, name="privacy_delete"),
    path("privacy/delete/cancel/", views.privacy_cancel, name="privacy_cancel"),
    path("privacy/users/<int:user_id>/", views.privacy_page, name="privacy_user"),
    path("privacy/users/<int:user_id>/export.zip", views.privacy_export, name="privacy_user_export"),
    path("privacy/users/<int:user_id>/delete/", views.privacy_delete, name="privacy_user_delete"),
    path("privacy/users/<int:user_id>/delete/cancel/", views.privacy_cancel, name="privacy_user_cancel"),
]
