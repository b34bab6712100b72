from django.urls import path

from tutor.learners import views

urlpatterns = [
    path("learn/progress/<int:curriculum_id>/", views.learner_progress, name="learner_progress"),
    path("learn/progress/<int:curriculum_id>/graph.json", views.learner_progress_graph, name="learner_progress_graph"),
    path("learn/placement/<int:curriculum_id>/", views.placement_page, name="placement_page"),
    path("learn/placement/<int:curriculum_id>/start/", views.placement_begin, name="placement_start"),
    path("learn/placement/<int:curriculum_id>/answer/", views.placement_submit, name="placement_answer"),
    path("teach/classes/<int:class_id>/abilities/", views.class_abilities, name="class_abilities"),
]
