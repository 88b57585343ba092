from django.contrib import admin

from posts.changes import delete_post
from posts.models import Post, PostChange, Reaction
from posts.public_ids import public_post_id


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "author", "short_body", "replies", "is_bot", "created_at", "edited_at", "deleted_at")
    list_filter = ("is_bot", "room", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("author", "body")
    list_select_related = ("room",)
    raw_id_fields = ("room", "user")
    readonly_fields = (
        "request_id", "created_at", "edited_at", "deleted_at", "reply_to", "thread", "reply_count", "last_reply_at",
        "reactions",
    )
    date_hierarchy = "created_at"
    ordering = ("-id",)
    # Counting every post on each page load is the slow part of a large changelist.
    show_full_result_count = False

    @admin.display(description="replies")
    def replies(self, post):
        """A root's reply count; for a reply, the thread it is in."""
        if post.thread_id:
            return f"in thread of {post.thread_id}"
        return post.reply_count or ""

    @admin.display(description="body")
    def short_body(self, post):
        if post.deleted_at:
            return "(deleted)"
        return post.body if len(post.body) <= 80 else post.body[:79] + "…"

    def has_add_permission(self, request):
        # Posts come through the pipeline only (rate limit, bot, fan-out); moderators delete.
        return False

    # A moderator's deletion is the API's: the post's text goes, its position stays, every
    # reader sees it go live, and the audit (Post changes) keeps who and what.
    def delete_model(self, request, post):
        if post.deleted_at is None:
            delete_post(user=request.user, post_id=public_post_id(post.pk))

    def delete_queryset(self, request, queryset):
        for post_id in queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True):
            delete_post(user=request.user, post_id=public_post_id(post_id))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed and read, never added, changed or deleted here: each row is a record of
    something that happened in a room."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PostChange)
class PostChangeAdmin(ReadOnlyAdmin):
    """The moderators' audit: every edit and deletion, with the text it replaced, and every
    reaction added or removed."""

    list_display = ("created_at", "kind", "post", "room", "actor", "previous_body", "emoji", "added")
    list_filter = ("kind", "room")
    search_fields = ("previous_body", "actor__username")
    list_select_related = ("post", "room", "actor")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(Reaction)
class ReactionAdmin(ReadOnlyAdmin):
    """Who reacted to what, to find a person's reactions. Read only: each reaction is a room
    event in the room's order (posts/reactions.py), so none is added or removed here; a
    moderator deletes an abusive post, or deactivates its author."""

    list_display = ("created_at", "emoji", "post", "user")
    list_filter = ("emoji",)
    search_fields = ("user__username",)
    list_select_related = ("post", "user")
    ordering = ("-id",)
    show_full_result_count = False
