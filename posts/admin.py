from django.contrib import admin

from posts.models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "author", "short_body", "is_bot", "created_at")
    list_filter = ("is_bot", "room")
    search_fields = ("author", "body")
    list_select_related = ("room",)
    raw_id_fields = ("room", "user")
    readonly_fields = ("request_id", "created_at")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    # Counting every post on each page load is the slow part of a large changelist.
    show_full_result_count = False

    @admin.display(description="body")
    def short_body(self, post):
        return post.body if len(post.body) <= 80 else post.body[:79] + "…"

    def has_add_permission(self, request):
        # Posts come through the pipeline only (rate limit, bot, fan-out); moderators delete.
        return False
