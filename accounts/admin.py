"""Django's user admin, plus the moderators' "deactivate" action."""
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

User = get_user_model()


@admin.action(description="Deactivate selected users (they can no longer log in, post or subscribe)")
def deactivate_users(modeladmin, request, queryset):
    # A moderator can't lock themselves out by accident.
    count = queryset.exclude(pk=request.user.pk).update(is_active=False)
    modeladmin.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)


@admin.action(description="Reactivate selected users")
def reactivate_users(modeladmin, request, queryset):
    count = queryset.update(is_active=True)
    modeladmin.message_user(request, f"Reactivated {count} user(s).", messages.SUCCESS)


class ChatUserAdmin(UserAdmin):
    actions = (deactivate_users, reactivate_users)


admin.site.unregister(User)
admin.site.register(User, ChatUserAdmin)
