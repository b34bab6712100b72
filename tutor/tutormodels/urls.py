from django.urls import path

from tutor.tutormodels import views

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<str:name>/promote/", views.model_promote, name="model_promote"),
]
