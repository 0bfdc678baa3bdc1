from django.contrib.auth.backends import ModelBackend


class LockoutBackend(ModelBackend):
    """Password login that refuses a locked account, even with the right password."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not user.is_locked()
