"""Forms of the web pages; the rules themselves live in accounts.services and rooms.services."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.text import slugify

from accounts import services as accounts
from chatsite.errors import ChatError
from rooms import services as rooms
from rooms.models import ROOM_ID_MAX_LENGTH


class LoginForm(AuthenticationForm):
    """Django's login form, checked by the same rules as the GraphQL `login`."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                client = self.request.META.get("REMOTE_ADDR") if self.request is not None else None
                self.user_cache = accounts.log_in(username=username, password=password, client=client)
            except ChatError as exc:
                raise forms.ValidationError(exc.message, code=exc.code)
        return self.cleaned_data


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150, help_text=accounts.USERNAME_RULE, widget=forms.TextInput(
        attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data

    def save(self, *, client=None):
        """The new user (accounts.services.sign_up), or a form error saying why not."""
        try:
            return accounts.sign_up(
                username=self.cleaned_data["username"], password=self.cleaned_data["password"], client=client
            )
        except ChatError as exc:
            self.add_error(None, exc.message)
            return None


class CreateRoomForm(forms.Form):
    name = forms.CharField(max_length=rooms.NAME_MAX_LENGTH, widget=forms.TextInput(attrs={"placeholder": "Stock talk"}))
    room_id = forms.CharField(
        label="Address",
        required=False,
        max_length=ROOM_ID_MAX_LENGTH,
        help_text="Optional: lower-case letters, digits, '-' or '_'. Made from the name when left empty.",
        widget=forms.TextInput(attrs={"placeholder": "stock-talk", "autocapitalize": "none"}),
    )
    private = forms.BooleanField(
        label="Private",
        required=False,
        help_text="Only members see it and read it: you, and whoever you add.",
    )

    def save(self, *, user=None):
        """The new room (rooms.services.create_room), or a form error saying why not."""
        room_id = self.cleaned_data["room_id"].strip() or slugify(self.cleaned_data["name"])[:ROOM_ID_MAX_LENGTH]
        try:
            return rooms.create_room(
                room_id=room_id, name=self.cleaned_data["name"], user=user, is_private=self.cleaned_data["private"]
            )
        except ChatError as exc:
            self.add_error(None, exc.message)
            return None


class AddMemberForm(forms.Form):
    """A private room's creator adds someone (rooms.services.add_room_member)."""

    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "username", "autocapitalize": "none", "autocomplete": "off"}),
    )
