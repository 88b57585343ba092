"""The browser pages: sign up, log in and out, the room list and a room, direct messages."""
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from posts.models import EXCERPT_MAX
from posts.reactions import REACTION_EMOJI
from posts.search import SEARCH_LIMIT_DEFAULT, SEARCH_QUERY_MAX_LENGTH
from posts.selectors import HISTORY_MAX, UNREAD_COUNT_MAX, is_muted, read_states, room_history
from chatsite.errors import ChatError, NotFound
from rooms import services as room_services
from rooms.selectors import can_add_members, direct_room_with, member_names, room_for, visible_rooms
from web.forms import AddMemberForm, CreateRoomForm, LoginForm, SignUpForm

# The pages' scripts take every server limit they use from data- attributes rendered here.
# The room list follows each room's events on one connection, besides its readStateChanged.
ROOM_LIST_OTHER_OPERATIONS = 1
# A room page tells the server what its reader has seen at most once a second, and no
# faster than markRead's rate limit allows one tab.
MARK_READ_INTERVAL_MIN_SECONDS = 1.0


def live_rooms_max():
    """How many rooms the room list follows live: what WEBSOCKET_MAX_OPERATIONS leaves."""
    return max(0, settings.WEBSOCKET_MAX_OPERATIONS - ROOM_LIST_OTHER_OPERATIONS)


def mark_read_interval():
    """Seconds between a room page's markRead calls."""
    pace = settings.MARK_READ_WINDOW_SECONDS / max(1, settings.MARK_READ_RATE_LIMIT)
    return max(MARK_READ_INTERVAL_MIN_SECONDS, pace)


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
    rooms = list(visible_rooms(request.user))
    states = read_states(request.user, [room.pk for room in rooms])
    for room in rooms:
        room.read = states[room.pk]
    context = {"rooms": rooms, "form": form, "count_max": UNREAD_COUNT_MAX, "live_rooms_max": live_rooms_max()}
    return render(request, "web/rooms.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET"])
def room(request, room_id):
    room = _room_or_404(request.user, room_id)
    history = room_history(user=request.user, room_id=room.pk)
    posts = [
        {**post, "created": parse_datetime(post["created_at"]), "extras": json.dumps(post_extras(post))}
        for post in history
    ]
    context = {
        "room": room,
        "posts": posts,
        "reaction_emoji": " ".join(REACTION_EMOJI),
        "excerpt_max": EXCERPT_MAX,
        "user_id": str(request.user.pk),
        "max_length": settings.POST_MAX_LENGTH,
        "history_limit": HISTORY_MAX,
        "search_limit": SEARCH_LIMIT_DEFAULT,
        "search_max_length": SEARCH_QUERY_MAX_LENGTH,
        "edit_window": settings.POST_EDIT_WINDOW_SECONDS,
        "typing_interval": settings.TYPING_INTERVAL_SECONDS,
        "mark_read_interval": mark_read_interval(),
        "members": member_names(room) if room.is_private else [],
        "muted": is_muted(request.user, room.pk),
        "add_member_form": AddMemberForm() if can_add_members(request.user, room) else None,
    }
    return render(request, "web/room.html", context)


def post_extras(post):
    """What the room page's script draws of a post beyond its text (replies, thread,
    reactions), named as the API names them (posts.js draws both alike)."""
    reply_to, thread = post["reply_to"], post["thread"]
    return {
        "replyTo": reply_to,
        "thread": thread and {"id": thread["id"], "replyCount": thread["reply_count"], "lastReplyAt": thread["last_reply_at"]},
        "reactions": post["reactions"],
    }


def _room_or_404(user, room_id):
    """The room `user` may see; a private room they are not in is a 404 like no room at all."""
    try:
        return room_for(user, room_id)
    except NotFound:
        raise Http404("No such room.") from None


@login_required
@require_http_methods(["POST"])
def add_member(request, room_id):
    """The "Add member" form of a private room's page (rooms.services.add_room_member)."""
    room = _room_or_404(request.user, room_id)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"].strip()
        try:
            room_services.add_room_member(user=request.user, room_id=room.pk, username=username)
        except ChatError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{username} is a member now.")
    else:
        messages.error(request, "Type the username of the person to add.")
    return redirect("web:room", room_id=room.pk)


@login_required
@require_http_methods(["GET", "POST"])
def direct_message(request, username):
    """A direct message with `username`: GET goes to it when it is open already, or asks;
    POST opens it (rooms.services.open_direct_room) and goes to it."""
    if request.method == "GET":
        room = direct_room_with(request.user, username)
        if room is not None:
            return redirect("web:room", room_id=room.pk)
        return render(request, "web/direct.html", {"username": username})
    try:
        room = room_services.open_direct_room(user=request.user, username=username)
    except ChatError as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        return render(request, "web/direct.html", {"username": username, "error": exc.message}, status=status)
    return redirect("web:room", room_id=room.pk)
