from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tutor import views
from tutor.security.login import RateLimitedLoginView

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
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
    path("", include("tutor.privacy.urls")),
    path("", include("tutor.audit.urls")),
    path("", include("tutor.tutormodels.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "tutor.security.views.bad_request"  # names the size limit a request broke
