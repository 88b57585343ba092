"""The browser pages: sign up, log in and out, the room list and a room."""
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from posts.selectors import HISTORY_MAX, room_history
from rooms.models import Room
from web.forms import CreateRoomForm, LoginForm, SignUpForm


class ChatLoginView(LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def _next_url(request, default="/"):
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return default


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("web:rooms")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save(client=request.META.get("REMOTE_ADDR"))
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_next_url(request))
    return render(request, "web/signup.html", {"form": form, "next": _next_url(request, "")})


@require_http_methods(["GET", "POST"])
def log_out(request):
    """GET asks, POST logs out: a link or a stray prefetch never ends a session."""
    if request.method == "POST":
        logout(request)
        return redirect("web:login")
    return render(request, "web/logout.html")


@login_required
@require_http_methods(["GET", "POST"])
def room_list(request):
    form = CreateRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        room = form.save(user=request.user)
        if room is not None:
            return redirect("web:room", room_id=room.pk)
    rooms = Room.objects.order_by("name")
    return render(request, "web/rooms.html", {"rooms": rooms, "form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET"])
def room(request, room_id):
    room = get_object_or_404(Room, pk=room_id)
    posts = [{**post, "created": parse_datetime(post["created_at"])} for post in room_history(room_id=room.pk)]
    context = {
        "room": room,
        "posts": posts,
        "user_id": str(request.user.pk),
        "max_length": settings.POST_MAX_LENGTH,
        "history_limit": HISTORY_MAX,
    }
    return render(request, "web/room.html", context)
