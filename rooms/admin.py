from django.contrib import admin, messages

from rooms.models import Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "locked", "created_at")
    list_filter = ("locked",)
    search_fields = ("id", "name")
    ordering = ("name",)
    actions = ("lock_rooms", "unlock_rooms")

    def get_readonly_fields(self, request, obj=None):
        # The id is the room's address and the key its posts hang on: set once, at creation.
        return ("id", "created_at") if obj else ("created_at",)

    @admin.action(description="Lock selected rooms (no new posts)")
    def lock_rooms(self, request, queryset):
        count = queryset.update(locked=True)
        self.message_user(request, f"Locked {count} room(s).", messages.SUCCESS)

    @admin.action(description="Unlock selected rooms")
    def unlock_rooms(self, request, queryset):
        count = queryset.update(locked=False)
        self.message_user(request, f"Unlocked {count} room(s).", messages.SUCCESS)
