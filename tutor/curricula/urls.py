from django.urls import path

from tutor.curricula import views

urlpatterns = [
    path("curricula/", views.curriculum_list, name="curriculum_list"),
    path("curricula/upload/", views.curriculum_upload, name="curriculum_upload"),
    path("curricula/uploads/<int:upload_id>/", views.curriculum_upload_review, name="curriculum_upload_review"),
    path("curricula/uploads/<int:upload_id>/graph.json", views.curriculum_upload_graph, name="curriculum_upload_graph"),
    path(
        "curricula/uploads/<int:upload_id>/publish/", views.curriculum_upload_publish, name="curriculum_upload_publish"
    ),
    path("curricula/<int:curriculum_id>/graph/", views.curriculum_graph, name="curriculum_graph"),
    path("curricula/<int:curriculum_id>/graph.json", views.curriculum_graph_data, name="curriculum_graph_data"),
]
