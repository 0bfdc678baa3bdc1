"""Password rules: Django's, said in Chinese. Django 5.2 reworded its length message and
its Chinese catalogue has no translation for the new words, so the refusal came in English."""

from __future__ import annotations

from django.contrib.auth import password_validation


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return f"密码太短，至少需要 {self.min_length} 个字符"

    def get_help_text(self) -> str:
        return f"密码至少 {self.min_length} 个字符"
