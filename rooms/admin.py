from django.contrib import admin, messages

from rooms.models import Room, RoomMember


class RoomMemberInline(admin.TabularInline):
    """A private room's members: moderators add and remove them here."""

    model = RoomMember
    extra = 1
    fields = ("user", "added_by", "created_at")
    readonly_fields = ("added_by", "created_at")
    raw_id_fields = ("user",)
    verbose_name = "member"
    verbose_name_plural = "members"


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "is_private", "is_direct", "locked", "created_at")
    list_filter = ("is_private", "is_direct", "locked")
    search_fields = ("id", "name")
    ordering = ("name",)
    actions = ("lock_rooms", "unlock_rooms")

    def get_inlines(self, request, obj):
        # Members belong to a private room; make it private first, then add them.
        return (RoomMemberInline,) if obj is not None and obj.is_private else ()

    def get_readonly_fields(self, request, obj=None):
        # The id is the room's address and the key its posts hang on: set once, at creation.
        return ("id", "created_by", "is_direct", "created_at") if obj else ("created_by", "is_direct", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for member in formset.save(commit=False):
            if member.pk is None:
                member.added_by = request.user
            member.save()
        for member in formset.deleted_objects:
            member.delete()
        formset.save_m2m()

    @admin.action(description="Lock selected rooms (no new posts)")
    def lock_rooms(self, request, queryset):
        count = queryset.update(locked=True)
        self.message_user(request, f"Locked {count} room(s).", messages.SUCCESS)

    @admin.action(description="Unlock selected rooms")
    def unlock_rooms(self, request, queryset):
        count = queryset.update(locked=False)
        self.message_user(request, f"Unlocked {count} room(s).", messages.SUCCESS)
