from django.urls import path

from tutor.planning import views

urlpatterns = [
    path("learn/plan/<int:curriculum_id>/", views.plan_page, name="plan_page"),
    path("learn/plan/<int:curriculum_id>/graph.json", views.plan_graph, name="plan_graph"),
    path("learn/plan/<int:curriculum_id>/goals/", views.my_goal_add, name="my_goal_add"),
    path("learn/plan/<int:curriculum_id>/goals/<int:goal_id>/remove/", views.my_goal_remove, name="my_goal_remove"),
    path("teach/classes/<int:class_id>/goals/", views.class_goals, name="class_goals"),
    path("teach/classes/<int:class_id>/goals/<int:goal_id>/remove/", views.class_goal_remove, name="class_goal_remove"),
    path("teach/students/<int:student_id>/plan/<int:curriculum_id>/", views.student_plan, name="student_plan"),
    path(
        "teach/students/<int:student_id>/plan/<int:curriculum_id>/graph.json",
        views.student_plan_graph,
        name="student_plan_graph",
    ),
]
