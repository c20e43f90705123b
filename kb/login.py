"""The admin's sign-in form, with the username's length enforced (#15).

Django's AuthenticationForm sets the field's `max_length` after the field is
built, so it is only the HTML attribute: a longer username reached
`authenticate()`, and django-axes then failed to record the attempt (its
column holds 255 characters: a DataError, a 500). Refused here, the form says
what is wrong and nothing is looked up or recorded.
"""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AdminAuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
