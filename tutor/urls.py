from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tutor import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", include("tutor.accounts.urls")),
    path("", include("tutor.dialogue.urls")),
    path("", include("tutor.curricula.urls")),
    path("", include("tutor.learners.urls")),
    path("", include("tutor.planning.urls")),
    path("", include("tutor.srl.urls")),
    path("", include("tutor.coaching.urls")),
    path("admin/", admin.site.urls),
]
