"""Django's user admin, plus the moderators' "deactivate" action."""
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts import services

User = get_user_model()


@admin.action(
    description="Deactivate selected users (they can no longer log in, post or subscribe)",
    permissions=["moderate"],
)
def deactivate_users(modeladmin, request, queryset):
    # A moderator can't lock themselves out by accident, nor lock out a superuser.
    queryset = queryset.exclude(pk=request.user.pk)
    if not request.user.is_superuser:
        queryset = queryset.exclude(is_superuser=True)
    count = services.deactivate_users(queryset)
    modeladmin.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)


@admin.action(description="Reactivate selected users", permissions=["moderate"])
def reactivate_users(modeladmin, request, queryset):
    # Superusers' accounts are the superusers' business: a moderator deactivates none and
    # reactivates none (a deactivated superuser stays so until another superuser decides).
    if not request.user.is_superuser:
        queryset = queryset.exclude(is_superuser=True)
    count = queryset.update(is_active=True)
    modeladmin.message_user(request, f"Reactivated {count} user(s).", messages.SUCCESS)


class ChatUserAdmin(UserAdmin):
    actions = (deactivate_users, reactivate_users)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.announce_deactivation([obj.pk])

    def has_moderate_permission(self, request):
        # Moderators hold view_user only: change_user would let them edit their own rights.
        return self.has_view_permission(request)


admin.site.unregister(User)
admin.site.register(User, ChatUserAdmin)
