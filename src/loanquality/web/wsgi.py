import os

from django.core.wsgi import get_wsgi_application

from loanquality.common.runtime import keep_files_private

keep_files_private()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loanquality.web.settings")
application = get_wsgi_application()

from loanquality.common.runtime import check_startup  # noqa: E402 - needs Django set up

check_startup()  # a bad audit key stops the server here, not as a 500 per change
