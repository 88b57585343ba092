from django.urls import path

from web import views

app_name = "web"

urlpatterns = [
    path("", views.room_list, name="rooms"),
    path("signup/", views.sign_up, name="signup"),
    path("login/", views.ChatLoginView.as_view(), name="login"),
    path("logout/", views.log_out, name="logout"),
    path("rooms/<slug:room_id>/", views.room, name="room"),
    path("rooms/<slug:room_id>/members/", views.add_member, name="add_member"),
    path("dm/<str:username>/", views.direct_message, name="direct"),
]
