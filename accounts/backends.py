from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.selectors import user_by_login


class UsernameOrEmailBackend(ModelBackend):
    """Signs in with the username or the e-mail, either in any case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        login = username if username is not None else kwargs.get("login")
        if not login or password is None:
            return None
        user = user_by_login(login)
        if user is None:
            # Hash anyway, so that the time taken does not tell which logins exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
